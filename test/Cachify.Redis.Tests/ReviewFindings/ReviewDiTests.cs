using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace CachifyNet.Redis.Tests.Review;

public sealed class ReviewDiTests
{
    [Fact]
    public async Task AddCachifyRedis_ConnectionString_RedisDownAtStartup_SilentCallsStillWork()
    {
        using var provider = new ServiceCollection().AddCachifyRedis("127.0.0.1:1,connectTimeout=500").BuildServiceProvider();
        var w = Stopwatch.StartNew();
        ICachify cachify;
        try { cachify = provider.GetRequiredService<ICachify>(); }
        catch (Exception e) { Assert.Fail($"resolving ICachify threw after {w.Elapsed}: {e.GetType().Name}: {e.Message.Split('\n')[0]}"); return; }
        var f = cachify.Wrap((int x) => Task.FromResult(x * 2)).Named("di.down");
        Assert.Equal(4, await f.Invoke(2));
    }
}
