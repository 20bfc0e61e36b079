"""The neglect marts: evidence, tiers, prevalence, hidden prevalence, practice indicators, trend (see the modules)."""
