"""The gongkai kernel: envelope, stores, bus, projections, tenancy, working days, HTTP helpers."""
