namespace CachifyNet.Tests;

public class ICachedFunctionTests : IDisposable
{
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void EveryPublicWrapperType_ImplementsICachedFunctionOfItself()
    {
        var wrappers = typeof(Cachify).Assembly.GetExportedTypes()
            .Where(t => t.IsClass && t.IsGenericTypeDefinition && t.Name.Contains("CachedFunc", StringComparison.Ordinal))
            .ToList();

        // CachedFunc and AsyncCachedFunc of 0 to 8 arguments, their Cancellable forms of 0 to 7.
        Assert.Equal(34, wrappers.Count);
        foreach (var wrapper in wrappers)
        {
            Assert.Contains(typeof(ICachedFunction<>).MakeGenericType(wrapper), wrapper.GetInterfaces());
        }
    }

    [Fact]
    public async Task OneGenericExtension_ConfiguresEveryKindOfWrapper_AndKeepsItsType()
    {
        var resolved = 0;
        ICacheBackend Pick()
        {
            Interlocked.Increment(ref resolved);
            return _fx.Backend;
        }

        CachedFunc<int> none = Cachify.Wrap(() => 1).UseStandard(Pick);
        CachedFunc<int, int, int, int, int, int, int, int, int> eight = Cachify.Wrap((int a, int b, int c, int d, int e, int f, int g, int h) => a + h).UseStandard(Pick);
        AsyncCachedFunc<int, int> async = Cachify.Wrap((int x) => Task.FromResult(x)).UseStandard(Pick);
        CancellableCachedFunc<int, int> cancellable = Cachify.Wrap((int x, CancellationToken ct) => x).UseStandard(Pick);
        CancellableAsyncCachedFunc<int, int> cancellableAsync = Cachify.Wrap((int x, CancellationToken ct) => Task.FromResult(x)).UseStandard(Pick);
        Assert.Equal(0, resolved);

        Assert.Equal(1, none.Invoke());
        Assert.Equal(9, eight.Invoke(1, 2, 3, 4, 5, 6, 7, 8));
        Assert.Equal(3, await async.Invoke(3));
        Assert.Equal(4, cancellable.Invoke(4, CancellationToken.None));
        Assert.Equal(5, await cancellableAsync.Invoke(5, CancellationToken.None));
        Assert.Equal(5, resolved);

        // The TTL set through the interface applies.
        var calls = 0;
        var counted = Cachify.Wrap((int x) => Interlocked.Increment(ref calls)).NoSelf().UseStandard(Pick);
        counted.Invoke(1);
        _fx.Advance(TimeSpan.FromSeconds(9));
        counted.Invoke(1);
        Assert.Equal(1, calls);
        _fx.Advance(TimeSpan.FromSeconds(2));
        counted.Invoke(1);
        Assert.Equal(2, calls);
    }
}

/// <summary>An option a package could offer: written once, for every cached function, on the public API alone.</summary>
internal static class StandardOptions
{
    public static TCached UseStandard<TCached>(this TCached cached, Func<ICacheBackend> backend)
        where TCached : ICachedFunction<TCached>
        => cached.Ttl(TimeSpan.FromSeconds(10)).Backend(backend);
}
