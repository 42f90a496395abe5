// x19_giftbox_hardshadow_white: red gift box with a ribbon, hard low sun: long sharp shadow on white
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0.3, 0.5, 0>, 1.9, 30, -20, 20)
HardLight(<-6, 4, -3>, 1.1)
FillLight(<4, 3, -6>, 0.2)
#if (!MASK) Sweep(Paper(rgb 1, 0.3), 4, 2) #end
object { GiftBox(texture { pigment { rgb <0.7, 0.05, 0.05> } finish { F_Satin } }, texture { pigment { rgb <0.95, 0.8, 0.3> } finish { F_Plastic } }) rotate y*25 }
