"""Time: bookings, shifts, history, telematics, dates."""
