"""variant/classdb.py: the classes Godot 3.2.3 can instantiate from a full Object."""
import unittest

from godot_ws.enums import Error
from godot_ws.variant import VariantDecodeError, bytes2var, var2bytes
from godot_ws.variant.classdb import INSTANTIABLE_CLASSES
from godot_ws.variant.types import GodotObject


class InstantiableClassesTest(unittest.TestCase):
    def test_the_set_found_on_godot_3_2_3(self):
        self.assertEqual(len(INSTANTIABLE_CLASSES), 513)  # as the module docstring says
        for name in ("Object", "Node", "Reference", "Resource", "_File", "WebSocketServer"):
            self.assertIn(name, INSTANTIABLE_CLASSES)

    def test_abstract_and_renamed_classes_are_absent(self):
        # CanvasItem/Spatial's bases are abstract; "File" is "_File" inside the engine.
        for name in ("CanvasItem", "Texture", "File", "Node3D", ""):
            self.assertNotIn(name, INSTANTIABLE_CLASSES)

    def test_the_decoder_refuses_what_is_not_in_the_set(self):
        self.assertEqual(bytes2var(var2bytes(GodotObject("Node"), True), True),
                         GodotObject("Node"))
        with self.assertRaises(VariantDecodeError) as ctx:
            bytes2var(var2bytes(GodotObject("CanvasItem"), True), True)
        self.assertEqual(ctx.exception.error, Error.ERR_UNAVAILABLE)


if __name__ == "__main__":
    unittest.main()
