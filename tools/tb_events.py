"""An independent reader of TensorBoard event files, for tests/oracle/check_tensorboard.sh.

It shares nothing with albertc's writer (src/train/tb_events.c): the TFRecord
framing and masked CRC-32C are checked here from their specification
(tensorflow/core/lib/io/record_writer.h), and records are parsed by Debian's
python3-protobuf with the Event / Summary messages declared below, field for
field as in TensorBoard's tensorboard/compat/proto/{event,summary,tensor,
tensor_shape}.proto (the subset a scalar and a text summary use; protobuf
skips the fields not declared here, as an older TensorBoard would).

  python3 tools/tb_events.py DIR   prints one JSON line per event, files in
                                   name order (the order TensorBoard reads them).
"""
import json
import os
import struct
import sys

from google.protobuf import descriptor_pb2, message_factory

F = descriptor_pb2.FieldDescriptorProto


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def masked_crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _messages():
    fd = descriptor_pb2.FileDescriptorProto(name="albertc_tb_subset.proto", package="tensorboard", syntax="proto3")

    def message(name, fields):
        m = fd.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = ".tensorboard." + type_name
        return m

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("TensorShapeProto", [("unknown_rank", 3, F.TYPE_BOOL, opt, None)])
    message("TensorProto", [("dtype", 1, F.TYPE_INT32, opt, None),
                            ("tensor_shape", 2, F.TYPE_MESSAGE, opt, "TensorShapeProto"),
                            ("float_val", 5, F.TYPE_FLOAT, rep, None),
                            ("double_val", 6, F.TYPE_DOUBLE, rep, None),
                            ("string_val", 8, F.TYPE_BYTES, rep, None)])
    message("PluginData", [("plugin_name", 1, F.TYPE_STRING, opt, None),
                           ("content", 2, F.TYPE_BYTES, opt, None)])
    message("SummaryMetadata", [("plugin_data", 1, F.TYPE_MESSAGE, opt, "PluginData"),
                                ("display_name", 2, F.TYPE_STRING, opt, None)])
    message("Value", [("node_name", 7, F.TYPE_STRING, opt, None),
                      ("tag", 1, F.TYPE_STRING, opt, None),
                      ("metadata", 9, F.TYPE_MESSAGE, opt, "SummaryMetadata"),
                      ("simple_value", 2, F.TYPE_FLOAT, opt, None),
                      ("tensor", 8, F.TYPE_MESSAGE, opt, "TensorProto")])
    message("Summary", [("value", 1, F.TYPE_MESSAGE, rep, "Value")])
    message("Event", [("wall_time", 1, F.TYPE_DOUBLE, opt, None),
                      ("step", 2, F.TYPE_INT64, opt, None),
                      ("file_version", 3, F.TYPE_STRING, opt, None),
                      ("summary", 5, F.TYPE_MESSAGE, opt, "Summary")])
    return message_factory.GetMessages([fd])


Event = _messages()["tensorboard.Event"]


def read_records(path):
    """(records, tail): the data of each whole record with valid CRCs, and what
    stopped the reading: None at a clean end, else "torn" or "crc"."""
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        if len(data) - pos < 12:
            return out, "torn"
        header = data[pos:pos + 8]
        (n,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if len_crc != masked_crc32c(header):
            return out, "crc"
        if len(data) - pos < 16 + n:
            return out, "torn"
        body = data[pos + 12:pos + 12 + n]
        (body_crc,) = struct.unpack("<I", data[pos + 12 + n:pos + 16 + n])
        if body_crc != masked_crc32c(body):
            return out, "crc"
        out.append(body)
        pos += 16 + n
    return out, None


def events(path):
    """(list of dicts, tail) for one event file."""
    records, tail = read_records(path)
    out = []
    for r in records:
        e = Event()
        e.ParseFromString(r)
        d = {"wall_time": e.wall_time, "step": e.step}
        if e.file_version:
            d["file_version"] = e.file_version
        for v in e.summary.value:
            if v.HasField("tensor"):
                d.setdefault("text", {})[v.tag] = {
                    "plugin": v.metadata.plugin_data.plugin_name,
                    "dtype": v.tensor.dtype,
                    "value": b"".join(v.tensor.string_val).decode()}
            else:
                d.setdefault("scalars", {})[v.tag] = v.simple_value
        out.append(d)
    return out, tail


def event_files(directory):
    return sorted(os.path.join(directory, f) for f in os.listdir(directory) if "tfevents" in f)


if __name__ == "__main__":
    for path in event_files(sys.argv[1]):
        evs, tail = events(path)
        for e in evs:
            print(json.dumps(dict(e, file=os.path.basename(path))))
        if tail:
            print(json.dumps({"file": os.path.basename(path), "tail": tail}))
