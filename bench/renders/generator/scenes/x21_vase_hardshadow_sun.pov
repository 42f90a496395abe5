// x21_vase_hardshadow_sun: terracotta vase in hard sunlight: dark shadow falling behind it on warm paper
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.4, 0>, 2.9, 30, 10, 12)
HardLight(<-5, 5, -7>, 1.1)
FillLight(<4, 3, -6>, 0.15)
#if (!MASK) Sweep(Paper(rgb <0.9, 0.75, 0.55>, 0.2), 3, 2) #end
object { CeramicVase(texture { pigment { rgb <0.6, 0.27, 0.15> } finish { F_Matte } }) }
