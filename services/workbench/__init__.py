"""工作台 the staff workbench: server-rendered pages over the other services' public HTTP APIs."""
