"""SQL shipped with agentwatch: ``schema/`` (migrations, applied in order), ``detectors/``, ``queries/``."""
