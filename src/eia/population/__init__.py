"""Populations of an assessment area: its LSOAs, deprivation, ethnicity, ages and proficiency in English."""
