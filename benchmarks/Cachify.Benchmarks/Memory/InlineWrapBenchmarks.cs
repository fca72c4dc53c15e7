using BenchmarkDotNet.Attributes;
using CachifyNet.Benchmarks.Infrastructure;

namespace CachifyNet.Benchmarks.Memory;

/// <summary>
/// Wrapping inline, at every call (<c>Cachify.Wrap(f).Ttl(t).Invoke(x)</c> inside a method), next to a wrapper stored in
/// a field. Wrappers with the same function and settings share one binding, and a closure is keyed by what it captured,
/// so an inline wrap hits: what it costs beyond a stored wrapper's hit is the wrapper objects and the closure's key.
/// The delegate and closure the compiler allocates for a capturing lambda are counted too.
/// </summary>
[MemoryDiagnoser]
[IterationTime(100)]
public class InlineWrapBenchmarks
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    private readonly int _id = 42;
    private readonly string _tenant = "acme";
    private CachedFunc<int, int> _stored = null!;

    [GlobalSetup]
    public void Setup()
    {
        Cachify.DefaultBackend = Backends.Memory();
        _stored = Cachify.Wrap(static (int v) => v * 3).Ttl(Ttl);
        _stored.Invoke(_id);
        InlineStatic();
        InlineCapturing();
    }

    [Benchmark(Baseline = true, Description = "stored-field hit")]
    public int StoredField() => _stored.Invoke(_id);

    [Benchmark(Description = "inline hit, static lambda")]
    public int InlineStatic() => Cachify.Wrap(static (int v) => v * 3).Ttl(Ttl).Invoke(_id);

    [Benchmark(Description = "inline hit, capturing lambda")]
    public int InlineCapturing()
    {
        var tenant = _tenant;
        return Cachify.Wrap((int v) => v * 3 + tenant.Length).Ttl(Ttl).Invoke(_id);
    }
}
