// x04_jar_sweets_blue: glass jar of sweets with a metal lid on pale blue paper
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.9, 0>, 1.9, 30, -12, 15)
HardLight(<-4, 7, -5>, 1.0)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb <0.55, 0.7, 0.9>, 0.3), 3, 2) #end
object { SweetJar(<0.95, 0.97, 1.0>, texture { T_Silver_3C }, 7) }
