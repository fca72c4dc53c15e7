using CachifyNet.Internal;

namespace CachifyNet.Tests.Reliability;

/// <summary>
/// Hostile arguments on the memory backend: huge keys, and types whose GetHashCode throws or whose Equals lies.
/// (Null delegates, names, TTLs, IgnoreArgs and KeyBy are covered, and tagged, in CachedFuncTests, KeyTests and
/// CachifyTests.)
/// </summary>
[Trait("Category", "Reliability")]
public class BadInputTests : IDisposable
{
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task Invoke_KeysOverOneMegabyte_AreCachedAndNeverConfused()
    {
        var calls = 0;
        var f = Cachify.Wrap((string text) => { Interlocked.Increment(ref calls); return text.Length + ":" + text[^1]; }).Backend(_fx.Backend);
        var g = Cachify.Wrap((string text) => Task.FromResult(text[^1])).Backend(_fx.Backend);
        var a = new string('x', 2_000_000) + "a";
        var b = new string('x', 2_000_000) + "b";

        Assert.Equal("2000001:a", f.Invoke(a));
        Assert.Equal("2000001:b", f.Invoke(b));
        Assert.Equal("2000001:a", f.Invoke(new string(a.AsSpan()))); // an equal copy is a hit
        Assert.Equal(2, calls);
        Assert.Equal('b', await g.Invoke(b));
        Assert.Equal('a', await g.Invoke(a));
    }

    [Fact]
    public async Task Invoke_ArgumentWhoseGetHashCodeThrows_ExceptionPropagatesFromInvokeAndNothingIsCached()
    {
        var calls = 0;
        var f = Cachify.Wrap((BadHash x) => ++calls).Backend(_fx.Backend);
        var g = Cachify.Wrap((BadHash x) => Task.FromResult(++calls)).Backend(_fx.Backend);

        Assert.Equal("hash", Assert.Throws<InvalidOperationException>(() => f.Invoke(new BadHash())).Message);
        Assert.Equal("hash", Assert.Throws<InvalidOperationException>(() => f.Invoke(new BadHash(), skipCache: true)).Message);

        // The asynchronous wrapper throws too, from Invoke itself (the key is built before any task exists).
        Assert.Equal("hash", Assert.Throws<InvalidOperationException>(() => { _ = g.Invoke(new BadHash()); }).Message);
        Assert.Throws<InvalidOperationException>(() => f.Invalidate(new BadHash()));
        await Assert.ThrowsAsync<InvalidOperationException>(() => g.InvalidateAsync(new BadHash()).AsTask());

        Assert.Equal(0, calls);
        Assert.Equal(0, Internals.Keyspace(f.CurrentTargetedBinding).Count);
        Assert.Equal(0, Internals.Keyspace(f.CurrentTargetedBinding).Locks.Count);
    }

    [Fact]
    public void Invoke_EqualsSaysEqualForDifferentValues_ReturnsTheOtherKeysValue()
    {
        // Memory keys compare with EqualityComparer<T>.Default: a type that calls different values equal shares one entry.
        // (On Redis the key is the argument's JSON text, so the values stay apart: see RedisBadInputTests.)
        var f = Cachify.Wrap((AlwaysEqual x) => x.Id).Backend(_fx.Backend);

        Assert.Equal(1, f.Invoke(new AlwaysEqual(1)));
        Assert.Equal(1, f.Invoke(new AlwaysEqual(2))); // the other key's value, as its Equals claims
    }

    [Fact]
    public async Task Invoke_EqualsNotReflexive_ThrowsClearErrorAndLeavesNothingBehind()
    {
        var calls = 0;
        var f = Cachify.Wrap((NeverEqual x) => ++calls).Backend(_fx.Backend);
        var g = Cachify.Wrap((NeverEqual x) => Task.FromResult(++calls)).Backend(_fx.Backend);

        var error = Assert.Throws<ArgumentException>(() => f.Invoke(new NeverEqual()));
        Assert.Contains("not equal to itself", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => f.Invoke(new NeverEqual(), skipCache: true));
        await Assert.ThrowsAsync<ArgumentException>(() => g.Invoke(new NeverEqual()));

        Assert.Equal(0, calls);
        Assert.Equal(0, Internals.Keyspace(f.CurrentTargetedBinding).Count);
        Assert.Equal(0, Internals.Keyspace(f.CurrentTargetedBinding).Locks.Count);
        Assert.Equal(0, Internals.Keyspace(g.CurrentTargetedBinding).Locks.Count);
    }

    [Fact]
    public void Invoke_GetHashCodeNotStable_ThrowsClearErrorAndLeavesNothingBehind()
    {
        var calls = 0;
        var f = Cachify.Wrap((RandomHash x) => ++calls).Backend(_fx.Backend);

        var error = Assert.Throws<ArgumentException>(() => f.Invoke(new RandomHash()));
        Assert.Contains("GetHashCode", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
        Assert.Equal(0, Internals.Keyspace(f.CurrentTargetedBinding).Locks.Count);
    }

    public sealed class BadHash
    {
        public override bool Equals(object? obj) => obj is BadHash;

        public override int GetHashCode() => throw new InvalidOperationException("hash");
    }

    public sealed class AlwaysEqual(int id)
    {
        public int Id { get; } = id;

        public override bool Equals(object? obj) => obj is AlwaysEqual;

        public override int GetHashCode() => 0;
    }

    public sealed class NeverEqual
    {
        public override bool Equals(object? obj) => false;

        public override int GetHashCode() => 0;
    }

    public sealed class RandomHash
    {
        private static int _next;

        public override bool Equals(object? obj) => obj is RandomHash;

        public override int GetHashCode() => Interlocked.Increment(ref _next);
    }
}
