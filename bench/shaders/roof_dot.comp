#version 450
/* Packed int8 dot-product throughput: each invocation runs `iters` rounds of 64 packed dots
 * (4x8-bit packed, the instruction the library's DOT kernel is built on) on 8 independent
 * accumulators, so the rate is bound by the dot unit and not by one chain's latency.
 *
 * Each accumulator is also the packed operand of its next dot. A loop-invariant operand pair would
 * let a compiler hoist the dot out of the loop; feeding
 * the result back costs no instruction (a bit cast) and keeps every dot in the loop. The b operands
 * come from the push constants so nothing folds at compile time. */
#extension GL_EXT_spirv_intrinsics : require

layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) writeonly buffer Sink { int sink[]; };

layout(push_constant) uniform Params {
    uint iters;
    uint seed;
    int magic; /* never equal to a result in practice; the store only makes the work observable */
} pc;

#ifndef DOT_SAT
#define DOT_SAT 0
#endif
#if DOT_SAT
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4453)
int sdot_acc_sat(uint a, uint b, int acc, spirv_literal int fmt);
#define STEP(acc, b) acc = sdot_acc_sat(uint(acc), (b), acc, 0)
#else
/* OpSDot then an add: what the library's kernel uses, and what maps onto IDP4A. */
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot_packed(uint a, uint b, spirv_literal int fmt);
#define STEP(acc, b) acc = acc + sdot_packed(uint(acc), (b), 0)
#endif
#define ROUND(b) STEP(a0, b); STEP(a1, b); STEP(a2, b); STEP(a3, b); \
                 STEP(a4, b); STEP(a5, b); STEP(a6, b); STEP(a7, b)

void main()
{
    uint gid = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint s = pc.seed ^ (gid * 0x9E3779B9u);
    int a0 = int(s), a1 = int(s ^ 0x11111111u), a2 = int(s ^ 0x22222222u), a3 = int(s ^ 0x33333333u);
    int a4 = int(s ^ 0x44444444u), a5 = int(s ^ 0x55555555u), a6 = int(s ^ 0x66666666u), a7 = int(s ^ 0x77777777u);
    uint b0 = pc.seed * 3u + 1u, b1 = b0 * 5u + 7u, b2 = b1 * 5u + 7u, b3 = b2 * 5u + 7u;
    uint b4 = b3 * 5u + 7u, b5 = b4 * 5u + 7u, b6 = b5 * 5u + 7u, b7 = b6 * 5u + 7u;
    for (uint i = 0u; i < pc.iters; ++i) {
        ROUND(b0); ROUND(b1); ROUND(b2); ROUND(b3);
        ROUND(b4); ROUND(b5); ROUND(b6); ROUND(b7);
    }
    int total = a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7;
    if (total == pc.magic)
        sink[0] = total;
}
