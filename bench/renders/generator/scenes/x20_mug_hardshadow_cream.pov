// x20_mug_hardshadow_cream: white mug under a hard spot light: sharp contact shadow on cream
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0.2, 0.55, 0>, 1.5, 30, 20, 18)
HardLight(<-3, 6, -2>, 1.1)
FillLight(<4, 3, -6>, 0.2)
#if (!MASK) Sweep(Paper(rgb <0.93, 0.88, 0.76>, 0.25), 3, 2) #end
object { Mug(texture { pigment { rgb 0.92 } finish { F_Ceramic } }, texture { pigment { rgb 0.3 } finish { F_Ceramic } }) rotate y*150 }
