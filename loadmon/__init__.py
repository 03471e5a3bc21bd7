"""loadmon: a local-first running-load monitor.

Foot-pod and IMU gait signals, a training log, and the injury-prevention load
rules of physical therapists, checked every week with their evidence.
"""

__version__ = "0.1.0"
