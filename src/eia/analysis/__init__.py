"""Analysis: access before and after, travel time, uptake, impact ratings and the options appraisal.

Everything here computes and returns frames and numbers; nothing here shows or words a result
(that is :mod:`eia.report`).
"""
