"""Services: the only place where state transitions are written. Views, CLI and jobs call these."""
