"""Every member of the seed's class reference exists (snake_case) or is explained in the docs
(docs/reference/additions.md)."""
import pathlib
import re
import unittest

import godot_ws
from godot_ws import WebSocketPeer, WebSocketServer

ROOT = pathlib.Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "WebSocketServer-class-reference.txt"

# Listed in docs/reference/additions.md, "Object members with no Python counterpart".
NO_COUNTERPART = {"Dispose", "Finalize", "Free", "NativeInstance", "DynamicObject", "Reference_",
                  "Unreference", "InitRef", "Tr", "CanTranslateMessages", "SetMessageTranslation",
                  "PropertyListChangedNotify", "GetScript", "SetScript", "Equals", "GetHashCode",
                  "GetType", "MemberwiseClone", "ToString"}

# The seed's members, for when the shared folder is not next to the checkout.
FALLBACK = """AllowObjectDecoding BindIp CaChain EncodeBufferMaxSize PrivateKey RefuseNewConnections
SslCertificate TransferMode _Get _GetPropertyList _Notification _Set AddUserSignal Call
CallDeferred Callv Connect Disconnect DisconnectPeer EmitSignal Get GetAvailablePacketCount
GetBindIp GetCaChain GetClass GetConnectionStatus GetEncodeBufferMaxSize GetIncomingConnections
GetIndexed GetInstanceId GetMeta GetMetaList GetMethodList GetPacket GetPacketError GetPacketPeer
GetPeer GetPeerAddress GetPeerPort GetPrivateKey GetPropertyList GetSignalConnectionList
GetSignalList GetSslCertificate GetTransferMode GetUniqueId GetVar HasMeta HasMethod HasPeer
HasSignal HasUserSignal IsBlockingSignals IsClass IsConnected IsListening IsObjectDecodingAllowed
IsQueuedForDeletion IsRefusingNewConnections Listen Notification Poll PutPacket PutVar RemoveMeta
Set SetAllowObjectDecoding SetBindIp SetBlockSignals SetBuffers SetCaChain SetDeferred
SetEncodeBufferMaxSize SetIndexed SetMeta SetPrivateKey SetRefuseNewConnections
SetSslCertificate SetTargetPeer SetTransferMode Stop ToSignal""".split()


def seed_members():
    if not SEED.exists():
        return set(FALLBACK)
    names = set()
    for line in SEED.read_text().splitlines():
        cell = line.split("|")[0].strip()
        m = re.match(r"^(_?[A-Z][A-Za-z_]*)(\(.*\))?$", cell)
        if m and "|" in line and cell not in ("Name",):
            names.add(m.group(1))
    names.discard("WebSocketServer")
    return names


def snake(name: str) -> str:
    lead = "_" if name.startswith("_") else ""
    core = name.lstrip("_")
    return lead + re.sub(r"(?<!^)(?=[A-Z])", "_", core).lower()


class SeedSurfaceTest(unittest.TestCase):
    def test_every_seed_member(self):
        members = seed_members()
        self.assertGreater(len(members), 80)
        server = WebSocketServer()
        missing = [m for m in sorted(members - NO_COUNTERPART)
                   if not hasattr(server, snake(m))]
        self.assertEqual(missing, [])

    def test_docs_list_every_member_without_counterpart(self):
        page = (ROOT / "docs" / "reference" / "additions.md").read_text()
        listed = page[page.index("## Object members with no Python counterpart"):]
        for name in NO_COUNTERPART:
            self.assertIn(f"`{name}`", listed, name)

    def test_peer_surface(self):
        for name in ("get_packet", "put_packet", "get_available_packet_count", "get_var",
                     "put_var", "was_string_packet", "set_write_mode", "get_write_mode", "close",
                     "get_connected_host", "get_connected_port", "is_connected_to_host",
                     "set_no_delay", "get_current_outbound_buffered_amount", "get_packet_error",
                     "allow_object_decoding", "encode_buffer_max_size"):
            self.assertTrue(hasattr(WebSocketPeer, name), name)

    def test_import_surface(self):
        for name in ("WebSocketServer", "WebSocketPeer", "Object", "PacketPeer",
                     "NetworkedMultiplayerPeer", "WebSocketMultiplayerPeer", "Error",
                     "ConnectionStatus", "TransferMode", "WriteMode", "ConnectFlags",
                     "TARGET_PEER_BROADCAST", "TARGET_PEER_SERVER", "CryptoKey",
                     "X509Certificate", "Crypto", "Vector2", "Rect2", "Vector3", "Transform2D",
                     "Plane", "Quat", "AABB", "Basis", "Transform", "Color", "NodePath", "RID",
                     "PoolByteArray", "PoolIntArray", "PoolRealArray", "PoolStringArray",
                     "PoolVector2Array", "PoolVector3Array", "PoolColorArray",
                     "EncodedObjectAsID", "GodotObject", "var2bytes", "bytes2var"):
            self.assertTrue(hasattr(godot_ws, name), name)
        self.assertEqual((godot_ws.TARGET_PEER_BROADCAST, godot_ws.TARGET_PEER_SERVER), (0, 1))
        self.assertIs(godot_ws.PoolByteArray, bytes)
        self.assertEqual(godot_ws.Error.ERR_BUSY, 44)
        self.assertEqual(godot_ws.ConnectFlags.CONNECT_REFERENCE_COUNTED, 8)


if __name__ == "__main__":
    unittest.main()
