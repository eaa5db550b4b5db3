"""政策解读: interpretation obligations, the quality gate, publication and rates."""
