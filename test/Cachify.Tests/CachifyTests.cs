namespace CachifyNet.Tests;

[Collection(nameof(GlobalDefaults))]
public class CachifyTests
{
    [Fact]
    public void Wrap_TaskReturningLambda_PicksAsyncOverload()
    {
        var f = Cachify.Wrap(() => Task.FromResult(1));
        Assert.IsType<AsyncCachedFunc<int>>(f);
        var g = Cachify.Wrap((int x) => Task.FromResult(x));
        Assert.IsType<AsyncCachedFunc<int, int>>(g);
    }

    [Fact]
    public void Wrap_MethodGroup_NeedsTypeArguments()
    {
        var f = Cachify.Wrap<int, string, string>(Format);
        Assert.Equal("1-a", f.Invoke(1, "a"));
    }

    [Fact]
    public void DefaultTtl_Is300Seconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(300), Cachify.DefaultTtl);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void DefaultTtl_InvalidValues_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Cachify.DefaultTtl = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => Cachify.DefaultTtl = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cachify.DefaultTtl = Timeout.InfiniteTimeSpan);
        Assert.Throws<ArgumentOutOfRangeException>(() => Cachify.DefaultTtl = TimeSpan.FromDays(400));
        Assert.Equal(TimeSpan.FromSeconds(300), Cachify.DefaultTtl);
    }

    [Fact]
    public void DefaultTtlAndBackend_AreReadAtTheFirstCall()
    {
        using var fx = new MemoryFixture();
        var previousBackend = Cachify.DefaultBackend;
        var calls = 0;
        var f = Cachify.Wrap((int x) => ++calls); // created before the defaults change (like a static field)
        try
        {
            Cachify.DefaultTtl = TimeSpan.FromSeconds(5);
            Cachify.DefaultBackend = fx.Backend;

            f.Invoke(1);
            fx.Advance(TimeSpan.FromSeconds(4));
            Assert.Equal(1, f.Invoke(1));
            fx.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(2, f.Invoke(1));
        }
        finally
        {
            Cachify.DefaultTtl = TimeSpan.FromSeconds(300);
            Cachify.DefaultBackend = previousBackend;
        }
    }

    [Fact]
    public async Task DefaultTtl_SetAfterWrapWithExplicitBackend_AppliesFromTheFirstCall()
    {
        using var fx = new MemoryFixture();
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls)).Backend(fx.Backend); // created "in a static field"
        var g = Cachify.Wrap((int x) => Task.FromResult(Interlocked.Increment(ref calls))).Backend(fx.Backend);
        try
        {
            Cachify.DefaultTtl = TimeSpan.FromSeconds(10);                                       // set at start-up, before the first call
            Assert.Equal(1, f.Invoke(1));
            Assert.Equal(2, await g.Invoke(1));
            fx.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(3, f.Invoke(1));                                                         // the 10 s default applies, not the 300 s of wrap time
            Assert.Equal(4, await g.Invoke(1));
        }
        finally
        {
            Cachify.DefaultTtl = TimeSpan.FromSeconds(300);
        }
    }

    [Fact]
    public void DefaultTtl_ChangedAfterTheFirstCall_WrapperKeepsTheTtlItWasBoundWith()
    {
        using var fx = new MemoryFixture();
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls)).Backend(fx.Backend);
        try
        {
            Cachify.DefaultTtl = TimeSpan.FromSeconds(10);
            Assert.Equal(1, f.Invoke(1));
            Cachify.DefaultTtl = TimeSpan.FromSeconds(100);                                      // read once, at the first call
            fx.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(2, f.Invoke(1));
        }
        finally
        {
            Cachify.DefaultTtl = TimeSpan.FromSeconds(300);
        }
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Backend_DisposedWhenSetOnTheWrapper_ThrowsAtConfigureTime()
    {
        var fx = new MemoryFixture();
        fx.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Cachify.Wrap((int x) => x).Backend(fx.Backend));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void DefaultBackend_IsMemory_AndRejectsNull()
    {
        Assert.IsType<MemoryCacheBackend>(Cachify.DefaultBackend);
        Assert.Throws<ArgumentNullException>(() => Cachify.DefaultBackend = null!);
    }

    private static string Format(int n, string s) => $"{n}-{s}";

    private sealed class Constructed
    {
        public Constructed(int offset) => Wrapper = Cachify.Wrap((int page) => page + offset);

        public CachedFunc<int, int> Wrapper { get; }
    }

    [Fact]
    public void Wrap_Lambda_ErrorsNameItAsItsAuthorKnowsIt()
    {
        var offset = 1;
        var inMethod = Assert.Throws<ArgumentException>(() => Cachify.Wrap((int page) => page + offset).IgnoreArgs("nope"));
        Assert.Contains("'nope' is not a parameter of CachifyTests.Wrap_Lambda_ErrorsNameItAsItsAuthorKnowsIt.lambda.", inMethod.Message, StringComparison.Ordinal);

        var inConstructor = Assert.Throws<ArgumentException>(() => new Constructed(offset).Wrapper.IgnoreArgs("nope"));
        Assert.Contains("CachifyTests+Constructed.ctor.lambda", inConstructor.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("DisplayClass", inConstructor.Message, StringComparison.Ordinal);
    }
}
