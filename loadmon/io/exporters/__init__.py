"""Read the accelerometer exports of common tools, auto-detected from their header.

`detect_format` tells the format of a file, zip archive or folder;
`read_recording` reads it whole into a `loadmon.signal.types.Recording`
(accelerations in g, times in s), with one note per assumption or repair;
`Format.iter_chunks` (or `iter_chunks`) streams it in chunks of bounded size;
`Format.open` does too and tells the detected facts and the progress.

Formats (`FORMATS`, tried in this order; see `loadmon.io.exporters.formats`
for the exact headers and where they come from):

* ``plain``: loadmon's plain layout (`loadmon.io.recordings`);
* ``phyphox``: phyphox CSV exports ("Acceleration with g", "Linear
  Acceleration"), any of its separators and decimal marks, or its zip;
* ``sensorlogger``: Sensor Logger tables or its zip/folder export
  (TotalAcceleration, else Accelerometer plus Gravity, else Accelerometer;
  Gyroscope interpolated in, rad/s to deg/s);
* ``polar``: Polar Sensor Logger ACC files (milli-g);
* ``metawear``: MbientLab MetaBase / MetaWear accelerometer CSV (g);
* ``actigraph``: ActiGraph ActiLife raw CSV (g, rate from the header);
* ``generic``: any CSV with a time column and x, y, z columns, units from
  the header, from arguments, or assumed from the magnitude with a note.

Every error is a `loadmon.io.errors.FileFormatError` with one line naming
the file (and the archive member).
"""

from loadmon.io.exporters.api import (
    FORMATS,
    ChunkStream,
    Format,
    detect_format,
    iter_chunks,
    read_recording,
)
from loadmon.io.exporters.core import (
    ACC_UNITS,
    DEFAULT_CHUNK_ROWS,
    TIME_UNITS,
    Chunk,
    ExportInfo,
)

__all__ = [
    "ACC_UNITS",
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "TIME_UNITS",
    "Chunk",
    "ChunkStream",
    "ExportInfo",
    "Format",
    "detect_format",
    "iter_chunks",
    "read_recording",
]
