// x13_bottle_black_navy: black glass bottle with a dark label on a navy-black sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.65, 0>, 3.4, 30, 8, 8)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.2)
#if (!MASK) Sweep(Paper(rgb <0.015, 0.02, 0.05>, 0.1), 3, 2) #end
object { WineBottle(texture { pigment { rgb 0.008 } finish { ambient 0.05 diffuse 0.6 specular 0.9 roughness 0.003 reflection { 0.08, 0.4 fresnel on } } },
                    texture { pigment { rgb <0.06, 0.05, 0.08> } finish { F_Matte } }, texture { pigment { rgb 0.03 } finish { F_Plastic } }) }
