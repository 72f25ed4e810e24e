// Four-lane AVX2+FMA form of math.Exp on amd64, bit-identical to it (see expexact.go).

#include "textflag.h"

// The constants of math.Exp's amd64 assembly (src/math/exp_amd64.s), as the
// same decimal literals, four lanes each.

DATA xeabs<>+0(SB)/8, $0x7fffffffffffffff
DATA xeabs<>+8(SB)/8, $0x7fffffffffffffff
DATA xeabs<>+16(SB)/8, $0x7fffffffffffffff
DATA xeabs<>+24(SB)/8, $0x7fffffffffffffff
GLOBL xeabs<>(SB), RODATA|NOPTR, $32
DATA xeinf<>+0(SB)/8, $0x7ff0000000000000
DATA xeinf<>+8(SB)/8, $0x7ff0000000000000
DATA xeinf<>+16(SB)/8, $0x7ff0000000000000
DATA xeinf<>+24(SB)/8, $0x7ff0000000000000
GLOBL xeinf<>(SB), RODATA|NOPTR, $32
DATA xeovf<>+0(SB)/8, $7.09782712893384e+02
DATA xeovf<>+8(SB)/8, $7.09782712893384e+02
DATA xeovf<>+16(SB)/8, $7.09782712893384e+02
DATA xeovf<>+24(SB)/8, $7.09782712893384e+02
GLOBL xeovf<>(SB), RODATA|NOPTR, $32
DATA xelog2e<>+0(SB)/8, $1.4426950408889634073599246810018920
DATA xelog2e<>+8(SB)/8, $1.4426950408889634073599246810018920
DATA xelog2e<>+16(SB)/8, $1.4426950408889634073599246810018920
DATA xelog2e<>+24(SB)/8, $1.4426950408889634073599246810018920
GLOBL xelog2e<>(SB), RODATA|NOPTR, $32
DATA xeln2u<>+0(SB)/8, $0.69314718055966295651160180568695068359375
DATA xeln2u<>+8(SB)/8, $0.69314718055966295651160180568695068359375
DATA xeln2u<>+16(SB)/8, $0.69314718055966295651160180568695068359375
DATA xeln2u<>+24(SB)/8, $0.69314718055966295651160180568695068359375
GLOBL xeln2u<>(SB), RODATA|NOPTR, $32
DATA xeln2l<>+0(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA xeln2l<>+8(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA xeln2l<>+16(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA xeln2l<>+24(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
GLOBL xeln2l<>(SB), RODATA|NOPTR, $32
DATA xe16th<>+0(SB)/8, $0.0625
DATA xe16th<>+8(SB)/8, $0.0625
DATA xe16th<>+16(SB)/8, $0.0625
DATA xe16th<>+24(SB)/8, $0.0625
GLOBL xe16th<>(SB), RODATA|NOPTR, $32
DATA xec64<>+0(SB)/8, $2.4801587301587301587e-5
DATA xec64<>+8(SB)/8, $2.4801587301587301587e-5
DATA xec64<>+16(SB)/8, $2.4801587301587301587e-5
DATA xec64<>+24(SB)/8, $2.4801587301587301587e-5
GLOBL xec64<>(SB), RODATA|NOPTR, $32
DATA xec56<>+0(SB)/8, $1.9841269841269841270e-4
DATA xec56<>+8(SB)/8, $1.9841269841269841270e-4
DATA xec56<>+16(SB)/8, $1.9841269841269841270e-4
DATA xec56<>+24(SB)/8, $1.9841269841269841270e-4
GLOBL xec56<>(SB), RODATA|NOPTR, $32
DATA xec48<>+0(SB)/8, $1.3888888888888888889e-3
DATA xec48<>+8(SB)/8, $1.3888888888888888889e-3
DATA xec48<>+16(SB)/8, $1.3888888888888888889e-3
DATA xec48<>+24(SB)/8, $1.3888888888888888889e-3
GLOBL xec48<>(SB), RODATA|NOPTR, $32
DATA xec40<>+0(SB)/8, $8.3333333333333333333e-3
DATA xec40<>+8(SB)/8, $8.3333333333333333333e-3
DATA xec40<>+16(SB)/8, $8.3333333333333333333e-3
DATA xec40<>+24(SB)/8, $8.3333333333333333333e-3
GLOBL xec40<>(SB), RODATA|NOPTR, $32
DATA xec32<>+0(SB)/8, $4.1666666666666666667e-2
DATA xec32<>+8(SB)/8, $4.1666666666666666667e-2
DATA xec32<>+16(SB)/8, $4.1666666666666666667e-2
DATA xec32<>+24(SB)/8, $4.1666666666666666667e-2
GLOBL xec32<>(SB), RODATA|NOPTR, $32
DATA xec24<>+0(SB)/8, $1.6666666666666666667e-1
DATA xec24<>+8(SB)/8, $1.6666666666666666667e-1
DATA xec24<>+16(SB)/8, $1.6666666666666666667e-1
DATA xec24<>+24(SB)/8, $1.6666666666666666667e-1
GLOBL xec24<>(SB), RODATA|NOPTR, $32
DATA xehalf<>+0(SB)/8, $0.5
DATA xehalf<>+8(SB)/8, $0.5
DATA xehalf<>+16(SB)/8, $0.5
DATA xehalf<>+24(SB)/8, $0.5
GLOBL xehalf<>(SB), RODATA|NOPTR, $32
DATA xeone<>+0(SB)/8, $1.0
DATA xeone<>+8(SB)/8, $1.0
DATA xeone<>+16(SB)/8, $1.0
DATA xeone<>+24(SB)/8, $1.0
GLOBL xeone<>(SB), RODATA|NOPTR, $32
DATA xetwo<>+0(SB)/8, $2.0
DATA xetwo<>+8(SB)/8, $2.0
DATA xetwo<>+16(SB)/8, $2.0
DATA xetwo<>+24(SB)/8, $2.0
GLOBL xetwo<>(SB), RODATA|NOPTR, $32
DATA xe1023<>+0(SB)/4, $1023
DATA xe1023<>+4(SB)/4, $1023
DATA xe1023<>+8(SB)/4, $1023
DATA xe1023<>+12(SB)/4, $1023
GLOBL xe1023<>(SB), RODATA|NOPTR, $16
DATA xe7ff<>+0(SB)/4, $0x7ff
DATA xe7ff<>+4(SB)/4, $0x7ff
DATA xe7ff<>+8(SB)/4, $0x7ff
DATA xe7ff<>+12(SB)/4, $0x7ff
GLOBL xe7ff<>(SB), RODATA|NOPTR, $16

// func expExactAVX2(dst, src *float64, n int) int
//
// dst[i] = math.Exp(src[i]) for blocks of four, following math.Exp's
// AVX+FMA path (exp_amd64.s, label avxfma) operation for operation, each
// scalar instruction replaced by its four-lane form, so every lane rounds
// exactly as the scalar code does. A block with a lane off that path (NaN,
// ±Inf, above the overflow bound, or a result exponent outside the normal
// range: overflow and denormal/underflow) stops the loop before it is
// written; the return value is the number of elements done (a multiple of
// 4, at most n, which is a positive multiple of 4).
TEXT ·expExactAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ DX, DX
	VPXOR X15, X15, X15
loop:
	VMOVUPD (SI)(DX*8), Y0
	// finite: |x| (as bits) < +Inf
	VANDPD xeabs<>(SB), Y0, Y6
	VMOVDQU xeinf<>(SB), Y7
	VPCMPGTQ Y6, Y7, Y7
	// not above the overflow bound
	VCMPPD $2, xeovf<>(SB), Y0, Y8
	VANDPD Y8, Y7, Y7
	// k = round(x * log2e) (CVTSD2SL), then float64(k)
	VMULPD xelog2e<>(SB), Y0, Y1
	VCVTPD2DQY Y1, X2
	VCVTDQ2PD X2, Y1
	// 0 < k+1023 < 0x7ff
	VPADDD xe1023<>(SB), X2, X3
	VPCMPGTD X15, X3, X4
	VMOVDQU xe7ff<>(SB), X5
	VPCMPGTD X3, X5, X5
	VPAND X5, X4, X4
	VPMOVSXDQ X4, Y4
	VANDPD Y4, Y7, Y7
	VMOVMSKPD Y7, AX
	CMPQ AX, $15
	JNE done
	// x - k*ln2 in two fused steps
	VMOVAPD Y0, Y9
	VFNMADD231PD xeln2u<>(SB), Y1, Y9
	VFNMADD231PD xeln2l<>(SB), Y1, Y9
	VMULPD xe16th<>(SB), Y9, Y9
	// Taylor series
	VMOVUPD xec64<>(SB), Y10
	VFMADD213PD xec56<>(SB), Y9, Y10
	VFMADD213PD xec48<>(SB), Y9, Y10
	VFMADD213PD xec40<>(SB), Y9, Y10
	VFMADD213PD xec32<>(SB), Y9, Y10
	VFMADD213PD xec24<>(SB), Y9, Y10
	VFMADD213PD xehalf<>(SB), Y9, Y10
	VFMADD213PD xeone<>(SB), Y9, Y10
	VMULPD Y10, Y9, Y9
	VADDPD xetwo<>(SB), Y9, Y10
	VMULPD Y10, Y9, Y9
	VADDPD xetwo<>(SB), Y9, Y10
	VMULPD Y10, Y9, Y9
	VADDPD xetwo<>(SB), Y9, Y10
	VMULPD Y10, Y9, Y9
	VADDPD xetwo<>(SB), Y9, Y10
	VFMADD213PD xeone<>(SB), Y10, Y9
	// times 2**k: the bits (k+1023) << 52
	VPMOVSXDQ X3, Y3
	VPSLLQ $52, Y3, Y3
	VMULPD Y3, Y9, Y9
	VMOVUPD Y9, (DI)(DX*8)
	ADDQ $4, DX
	CMPQ DX, CX
	JLT loop
done:
	VZEROUPPER
	MOVQ DX, ret+24(FP)
	RET
