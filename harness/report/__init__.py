"""Results folders and the human report: written while a run goes, readable after a run that died midway."""
