"""The gongkai services, one package each (catalog, applications, interpretation, ...)."""
