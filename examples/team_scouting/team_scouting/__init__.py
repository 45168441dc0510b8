"""A team's own scouting board as an etl_worker source, with a rule that checks its grade scale."""
