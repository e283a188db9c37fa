"""Time: scheduled bookings, assistants' shifts, and the periodic jobs that run over time."""
