"""The sizes every wire contract and every central table agree on: one source for both.

A node is not trusted: whatever a contract lets through must fit the column it lands in, on SQLite
and on PostgreSQL alike, or one message could fail a whole batch (or worse, end central). The
tables take their column widths from here (`String(limits.PLATE)`), the contracts their
`max_length`/`le` bounds, so the two cannot drift apart.
"""

from __future__ import annotations

# Integers stored in an `Integer` column: PostgreSQL's int4 (SQLite holds 64 bits, int4 is the lower).
INT_MAX = 2**31 - 1
SEQ_MAX = INT_MAX  # a node's uplink seq (passes.seq, network_messages.seq, nodes.high_water)
VERSION_MAX = INT_MAX  # change-stream positions

# String columns (characters).
NODE_ID = 64
LANE_ID = 64
PASS_ID = 128
PLATE = 16
ORDER_NO = 40
USERNAME = 64
CONTAINER_NO = 16  # ISO 6346 is 11 characters; room for a separator or a check-digit suffix
CARD_NO = 64  # IC card and RFID e-plate identifiers
SHA256_HEX = 64
STREAM = 72
REASON = 200  # one decision reason
CHECK_NAME = 64
NOTE = 2000  # free text an officer types (review notes, alert notes, reasons)

# Lists inside one pass record.
MAX_CONTAINERS = 8
MAX_REASONS = 64
MAX_CHECKS = 64
MAX_IMAGES = 32

# MQTT messages central accepts on a node's uplink topics. The edge sends up to 100 envelopes of
# ~1 kB per passes message (kakou.edge.link.LINES); anything much larger is refused as a whole.
MAX_PASSES_MESSAGE_BYTES = 1024 * 1024
MAX_PASSES_LINES = 1000
MAX_CONTROL_MESSAGE_BYTES = 64 * 1024  # sync requests, presence and vehicle positions
# The broker's own ceiling on any PUBLISH (deploy/mosquitto `message_size_limit`): above every
# uplink bound, and room for central's largest downlink message (a snapshot of one stream).
BROKER_MESSAGE_BYTES = 64 * 1024 * 1024

# A vehicle terminal's id (车载终端), and a transit's declared route (points of its corridor).
TERMINAL_ID = 64
MAX_ROUTE_POINTS = 500
