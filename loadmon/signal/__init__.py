"""Signal pipeline: foot contacts, cadence and impact peaks from accelerations (pure numpy/scipy).

`detect_contacts` runs the online `ContactDetector` over a whole `Recording`;
`summarize` turns its contacts into a `GaitSummary`.
"""

from loadmon.signal.detector import (
    PROFILES,
    Contact,
    ContactDetector,
    GaitEvent,
    Profile,
    ToeOff,
    contacts_frame,
    detect_contacts,
    min_rate_hz,
)
from loadmon.signal.summary import summarize
from loadmon.signal.types import (
    CONTACT_COLUMNS,
    PLACEMENTS,
    SINGLE_FOOT,
    GaitSummary,
    Recording,
)

__all__ = [
    "CONTACT_COLUMNS",
    "PLACEMENTS",
    "PROFILES",
    "SINGLE_FOOT",
    "Contact",
    "ContactDetector",
    "GaitEvent",
    "GaitSummary",
    "Profile",
    "Recording",
    "ToeOff",
    "contacts_frame",
    "detect_contacts",
    "min_rate_hz",
    "summarize",
]
