#pragma warning disable xUnit1031, CA2000, IDE0005, CA1001, CA1707, CA1515, CA1822, CA1852, IDE0059
using CachifyNet.Internal;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Tests.Review;

public class ReviewTests
{
    private static int Square(int x) => x * x + Interlocked.Increment(ref _squareCalls) * 1000;
    private static int _squareCalls;

    [Fact]
    public void NeverDie_AnotherWrapperWithShorterTtlMisses_EntryStopsBeingNeverDie()
    {
        var fx = new MemoryFixture();
        var nd = Cachify.Wrap<int, int>(Square).Ttl(TimeSpan.FromSeconds(10)).NeverDie().Backend(fx.Backend);
        var plain = Cachify.Wrap<int, int>(Square).Ttl(TimeSpan.FromSeconds(5)).Backend(fx.Backend);
        var first = nd.Invoke(2);
        fx.Advance(TimeSpan.FromSeconds(6));
        _ = plain.Invoke(2);                 // entry older than 5 s: plain runs and replaces the never-die entry
        fx.Advance(TimeSpan.FromSeconds(6)); // plain's 5 s entry expires; no refresh was ever scheduled
        var before = Volatile.Read(ref _squareCalls);
        _ = nd.Invoke(2);
        Assert.Equal(before, Volatile.Read(ref _squareCalls)); // never-die reader must not miss
        fx.Dispose();
    }
}
