using CachifyNet;

namespace CachifyNet.Tests;

public class SmokeTests
{
    [Fact]
    public async Task Wrap_Basics()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => { calls++; return x * 2; });
        Assert.Equal(4, f.Invoke(2));
        Assert.Equal(4, f.Invoke(2));
        Assert.Equal(1, calls);
        var g = Cachify.Wrap(() => Task.FromResult(1));
        Assert.IsType<AsyncCachedFunc<int>>(g);
        Assert.Equal(1, await g.Invoke());
    }
}
