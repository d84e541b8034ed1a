#version 450
/* Cooperative-matrix throughput (VK_NV_cooperative_matrix, int8 x int8 -> int32, 16x16x32 at
 * subgroup scope, the shape the library's COOPMAT kernel uses): each subgroup runs `iters` rounds
 * of four products into four independent accumulators, operands loaded once from shared memory,
 * so the rate is bound by the matrix units and not by memory or one chain's latency. The sum of
 * the accumulators is compared with a magic value and only then stored, which keeps the work
 * observable without a store per invocation. */
#extension GL_KHR_memory_scope_semantics : require
#extension GL_NV_cooperative_matrix : require
#extension GL_NV_integer_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_KHR_shader_subgroup_basic : require

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) writeonly buffer Sink { int sink[]; };

layout(push_constant) uniform Params {
    uint iters;
    uint seed;
    int magic;
} pc;

/* A (16 x 32 bytes) then B (32 x 16 bytes, stored by columns): 128 words each; then one 16 x 16
 * int32 result per subgroup (4 subgroups of 32; a smaller subgroup size only leaves slots unused). */
shared uint operands[256];
shared int results[4 * 256];

void main()
{
    for (uint i = gl_LocalInvocationID.x; i < 256u; i += gl_WorkGroupSize.x)
        operands[i] = (pc.seed ^ (i * 0x9E3779B9u)) * 2654435761u;
    barrier();
    icoopmatNV<8, gl_ScopeSubgroup, 16, 32> a;
    icoopmatNV<8, gl_ScopeSubgroup, 32, 16> b;
    coopMatLoadNV(a, operands, 0, 8, false);
    coopMatLoadNV(b, operands, 128, 8, true);
    icoopmatNV<32, gl_ScopeSubgroup, 16, 16> c0 = icoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0);
    icoopmatNV<32, gl_ScopeSubgroup, 16, 16> c1 = icoopmatNV<32, gl_ScopeSubgroup, 16, 16>(1);
    icoopmatNV<32, gl_ScopeSubgroup, 16, 16> c2 = icoopmatNV<32, gl_ScopeSubgroup, 16, 16>(2);
    icoopmatNV<32, gl_ScopeSubgroup, 16, 16> c3 = icoopmatNV<32, gl_ScopeSubgroup, 16, 16>(3);
    for (uint i = 0u; i < pc.iters; ++i) {
        c0 = coopMatMulAddNV(a, b, c0);
        c1 = coopMatMulAddNV(a, b, c1);
        c2 = coopMatMulAddNV(a, b, c2);
        c3 = coopMatMulAddNV(a, b, c3);
    }
    const uint slot = min(gl_SubgroupID, 3u) * 256u;
    coopMatStoreNV(c0 + c1 + c2 + c3, results, slot, 16, false);
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    if (gl_SubgroupInvocationID == 0u && results[slot] == pc.magic)
        sink[0] = results[slot];
}
