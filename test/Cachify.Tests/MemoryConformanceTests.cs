using CachifyNet.Conformance;

namespace CachifyNet.Tests;

/// <summary>The memory backend runs the store conformance suite: its own store per test, on the test's fake clock.</summary>
public sealed class MemoryConformanceTests : CacheStoreConformanceTests
{
    protected override ICacheBackend CreateBackend(TimeProvider time) => new MemoryCacheBackend(new MemoryCacheBackendOptions { TimeProvider = time });

    protected override Task? BackgroundWorkDone(ICacheBackend backend) => backend.Services.WhenIdle();

    protected override string FaultSkipReason => "The memory backend is in-process: it has no store to lose.";
}
