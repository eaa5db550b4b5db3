"""舆情回应 / 政民互动: intake, classification, case ledger, response clocks, hotspots."""
