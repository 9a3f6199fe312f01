"""AWS EC2: one VM per workspace (work in progress; not registered as a provider type yet)."""
