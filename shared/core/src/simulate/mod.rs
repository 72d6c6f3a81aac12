//! Deterministic simulators of AWS logs with injected attack scenarios and labels.
