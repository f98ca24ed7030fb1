"""Operations: metrics, structured logs, backup/restore, portable dump/load, self-monitoring."""
