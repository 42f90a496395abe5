// x26_speaker_glossy_grey: white speaker on a glossy grey floor
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.0, 0>, 2.1, 30, 25, 8)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) GlossyFloor(rgb 0.45, 0.45, rgb 0.6, 4) #end
object { Speaker(texture { pigment { rgb 0.9 } finish { F_Satin } }, texture { pigment { rgb 0.15 } finish { F_Matte } },
                 texture { pigment { rgb 0.6 } finish { F_Plastic } }) rotate y*20 }
