"""BLE sensors: byte codecs, the durable recorder, device profiles over bleak, scan and record."""
