// x28_brush_bristles_cream: shaving brush: a fan of fine bristles on cream paper
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.05, 0>, 2.2, 30, 10, 10)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb <0.92, 0.86, 0.72>, 0.3), 3, 2) #end
object { ShavingBrush(texture { pigment { rgb <0.1, 0.1, 0.12> } finish { F_Plastic } }, texture { pigment { rgb <0.45, 0.38, 0.3> } finish { F_Matte } }, 1800, 5) }
