// x10_speaker_black_charcoal: black speaker cabinet on a near-black sweep (dark on dark)
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.0, 0>, 2.1, 30, -25, 14)
KeyLight(<-4, 7, -5>, 0.9, 3, 4)
FillLight(<5, 3, -6>, 0.2)
#if (!MASK) Sweep(Paper(rgb 0.04, 0.1), 3, 2) #end
object { Speaker(texture { pigment { rgb 0.025 } finish { F_Satin } }, texture { pigment { rgb 0.01 } finish { F_Matte } },
                 texture { pigment { rgb 0.08 } finish { F_Plastic } }) rotate y*-15 }
