using Bogus;

namespace CachifyNet.Tests;

/// <summary>The key rules of DESIGN.md section 2: never a value computed for other inputs.</summary>
public class KeyTests : IDisposable
{
    private readonly MemoryFixture _fx = new();
    private readonly Faker _faker = new() { Random = new Randomizer(20261126) };

    public void Dispose() => _fx.Dispose();

    [Trait("Category", "Reliability")]
    [Fact]
    public void Key_SeparatorInsideArguments_DoesNotCollide()
    {
        var f = Cachify.Wrap((string a, string b) => a + "|" + b).Backend(_fx.Backend);

        Assert.Equal("a:b|c", f.Invoke("a:b", "c"));
        Assert.Equal("a|b:c", f.Invoke("a", "b:c"));
        Assert.Equal("a,b|c", f.Invoke("a,b", "c"));
        Assert.Equal("a|b,c", f.Invoke("a", "b,c"));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Key_NullAndEmptyString_AreDifferent()
    {
        var f = Cachify.Wrap((string? s) => s is null ? "null" : "[" + s + "]").Backend(_fx.Backend);

        Assert.Equal("null", f.Invoke(null));
        Assert.Equal("[]", f.Invoke(string.Empty));
        Assert.Equal("null", f.Invoke(null));
    }

    [Fact]
    public void Key_IntAndLongOverloadsOfOneMethod_NeverCollide()
    {
        // One declaring type, one method name, one argument value: only the parameter type tells the entries apart.
        Overloads.Reset();
        var ints = Cachify.Wrap<int, string>(Overloads.Kind).Backend(_fx.Backend);
        var longs = Cachify.Wrap<long, string>(Overloads.Kind).Backend(_fx.Backend);

        Assert.Equal("int 1", ints.Invoke(1));
        Assert.Equal("long 1", longs.Invoke(1L));
        Assert.Equal("int 1", ints.Invoke(1));
        Assert.Equal("long 1", longs.Invoke(1L));
        Assert.Equal(2, Overloads.Calls); // one execution per overload, each then a hit
    }

    [Fact]
    public void Key_IntAndLongBoxedInOneObjectParameter_NeverCollide()
    {
        // One function: the boxed 1 and 1L differ only by their runtime type.
        var calls = 0;
        var f = Cachify.Wrap((object x) => { calls++; return x.GetType().Name; }).Backend(_fx.Backend);

        Assert.Equal("Int32", f.Invoke(1));
        Assert.Equal("Int64", f.Invoke(1L));
        Assert.Equal("Int32", f.Invoke(1));
        Assert.Equal(2, calls);
    }

    [Fact]
    public void Key_TwoLambdasWithSameSignature_NeverShare()
    {
        var a = Cachify.Wrap((int x) => x + 1).Backend(_fx.Backend);
        var b = Cachify.Wrap((int x) => x + 2).Backend(_fx.Backend);

        Assert.Equal(2, a.Invoke(1));
        Assert.Equal(3, b.Invoke(1));
    }

    [Fact]
    public void Key_ClosuresCapturingDifferentValues_DoNotShare()
    {
        CachedFunc<int, int> Multiplier(int factor) => Cachify.Wrap((int x) => x * factor).Backend(_fx.Backend);

        var times2 = Multiplier(2);
        var times3 = Multiplier(3);
        Assert.Equal(10, times2.Invoke(5));
        Assert.Equal(15, times3.Invoke(5));
    }

    [Fact]
    public void Key_TwoLambdasOfOneClosureWrappedInline_NeverShare()
    {
        // Both lambdas live in one closure class and capture the same variable: only their methods tell them apart,
        // also when each inline wrap brings a new delegate (found by its code, not by Delegate.Method, after the first).
        var backend = _fx.Backend;
        int Call(int offset, int x, bool second) => second
            ? Cachify.Wrap((int v) => v * 100 + offset).Backend(backend).Invoke(x)
            : Cachify.Wrap((int v) => v * 10 + offset).Backend(backend).Invoke(x);

        for (var round = 0; round < 3; round++)
        {
            Assert.Equal(11, Call(1, 1, second: false));
            Assert.Equal(101, Call(1, 1, second: true));
            Assert.Equal(12, Call(2, 1, second: false));
            Assert.Equal(102, Call(2, 1, second: true));
        }
    }

    [Fact]
    public void Key_ClosureCapturingSeveralValues_HitsOnlyWhenAllAreEqual()
    {
        // The lambda captures prefix and scale only (a counter it captured would be part of the key, read at each wrap).
        var backend = _fx.Backend;
        var before = Volatile.Read(ref s_severalCalls);
        string Call(string prefix, int scale, int x) => Cachify.Wrap((int v) => CountedConcat(prefix, v * scale)).Backend(backend).Invoke(x);

        Assert.Equal("a2", Call("a", 2, 1));
        Assert.Equal("a2", Call("a", 2, 1));
        Assert.Equal("a3", Call("a", 3, 1));
        Assert.Equal("b2", Call("b", 2, 1));
        Assert.Equal(3, Volatile.Read(ref s_severalCalls) - before);
    }

    private static int s_severalCalls;

    private static string CountedConcat(string prefix, int value)
    {
        Interlocked.Increment(ref s_severalCalls);
        return prefix + value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Key_SameStatelessLambdaWrappedTwice_SharesEntries()
    {
        CachedFunc<int, int> MakeStateless() => Cachify.Wrap((int x) => StatelessCounter.Next(x)).Backend(_fx.Backend);
        StatelessCounter.Reset();

        MakeStateless().Invoke(1);
        MakeStateless().Invoke(1);
        Assert.Equal(1, StatelessCounter.Calls); // no capture: both wrappers are the same function
    }

    [Fact]
    public void Key_InstancesOfAClass_DoNotShareUnlessNoSelf()
    {
        var first = new Repo("first");
        var second = new Repo("second");

        var perInstanceA = Cachify.Wrap<int, string>(first.Get).Backend(_fx.Backend);
        var perInstanceB = Cachify.Wrap<int, string>(second.Get).Backend(_fx.Backend);
        Assert.Equal("first:1", perInstanceA.Invoke(1));
        Assert.Equal("second:1", perInstanceB.Invoke(1));

        var sharedA = Cachify.Wrap<int, string>(first.Get).NoSelf().Backend(_fx.Backend);
        var sharedB = Cachify.Wrap<int, string>(second.Get).NoSelf().Backend(_fx.Backend);
        Assert.Equal("first:2", sharedA.Invoke(2));
        Assert.Equal("first:2", sharedB.Invoke(2)); // NoSelf: all instances share entries
    }

    [Fact]
    public void IgnoreArgs_IgnoredArgumentDoesNotSplitEntries()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id, string traceId) => { calls++; return id; }).IgnoreArgs("traceId").Backend(_fx.Backend);

        f.Invoke(1, _faker.Random.Guid().ToString());
        f.Invoke(1, _faker.Random.Guid().ToString());
        f.Invoke(2, _faker.Random.Guid().ToString());
        Assert.Equal(2, calls);
    }

    [Fact]
    public void IgnoreArgs_WrappersWithDifferentIgnoredArgs_NeverShare()
    {
        var all = Cachify.Wrap((int a, int b) => a * 10 + b).Backend(_fx.Backend);
        var ignoreB = all.IgnoreArgs("b");

        Assert.Equal(15, ignoreB.Invoke(1, 5));
        Assert.Equal(10, all.Invoke(1, 0)); // default(b) = 0 must not hit the (1, ignored) entry
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void IgnoreArgs_UnknownName_ThrowsListingValidNames()
    {
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap((int id, string name) => id).IgnoreArgs("nme"));
        Assert.Equal("names", error.ParamName);
        Assert.Contains("'nme'", error.Message, StringComparison.Ordinal);
        Assert.Contains("id, name", error.Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void IgnoreArgs_NullOrEmpty_Throws()
    {
        var f = Cachify.Wrap((int id) => id);
        Assert.Throws<ArgumentNullException>(() => f.IgnoreArgs(null!));
        Assert.Throws<ArgumentException>(() => f.IgnoreArgs(string.Empty));
        Assert.Throws<ArgumentException>(() => f.IgnoreArgs((string)null!));
    }

    [Fact]
    public void IgnoreArgs_Accumulates()
    {
        var calls = 0;
        var f = Cachify.Wrap((int a, int b, int c) => { calls++; return a; }).IgnoreArgs("b").IgnoreArgs("c").Backend(_fx.Backend);

        f.Invoke(1, 2, 3);
        f.Invoke(1, 4, 5);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void KeyBy_ReplacesTheArgumentPart()
    {
        var calls = 0;
        var f = Cachify.Wrap((Person p) => { calls++; return p.Name; }).KeyBy(p => p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).Backend(_fx.Backend);

        Assert.Equal("Ann", f.Invoke(new Person(1, "Ann")));
        Assert.Equal("Ann", f.Invoke(new Person(1, "Renamed")));
        Assert.Equal("Bob", f.Invoke(new Person(2, "Bob")));
        Assert.Equal(2, calls);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void KeyBy_WithIgnoreArgsOrNoSelf_ThrowsAtConfigureTime()
    {
        var f = Cachify.Wrap((int a, int b) => a);
        Assert.Throws<InvalidOperationException>(() => f.KeyBy((a, b) => "k").IgnoreArgs("b"));
        Assert.Throws<InvalidOperationException>(() => f.IgnoreArgs("b").KeyBy((a, b) => "k"));
        Assert.Throws<InvalidOperationException>(() => f.KeyBy((a, b) => "k").NoSelf());
        var error = Assert.Throws<InvalidOperationException>(() => f.NoSelf().KeyBy((a, b) => "k"));
        Assert.Contains("NoSelf", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => f.KeyBy(null!));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void KeyBy_ReturningNull_ThrowsAtCallWithoutRunning()
    {
        var calls = 0;
        var f = Cachify.Wrap((int a) => ++calls).KeyBy(a => null!).Backend(_fx.Backend);

        var error = Assert.Throws<InvalidOperationException>(() => f.Invoke(1));
        Assert.Contains("returned null", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void KeyBy_Throwing_PropagatesWithoutRunning()
    {
        var calls = 0;
        var f = Cachify.Wrap((int a) => ++calls).KeyBy(a => throw new FormatException("bad key")).Backend(_fx.Backend);

        Assert.Equal("bad key", Assert.Throws<FormatException>(() => f.Invoke(1)).Message);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void KeyBy_DifferentKeyFunctions_NeverShare()
    {
        var f = Cachify.Wrap((int a, int b) => a * 10 + b).Backend(_fx.Backend);
        var byA = f.KeyBy((a, b) => a.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var byB = f.KeyBy((a, b) => b.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(12, byA.Invoke(1, 2));
        Assert.Equal(31, byB.Invoke(3, 1)); // key "1" in another key function's space
    }

    [Fact]
    public async Task CancellationTokenParameter_IsNeverPartOfTheKey()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id, CancellationToken ct) => { calls++; return Task.FromResult(id); }).Backend(_fx.Backend);
        using var a = new CancellationTokenSource();
        using var b = new CancellationTokenSource();

        await f.Invoke(1, a.Token);
        await f.Invoke(1, b.Token);
        await f.Invoke(1, CancellationToken.None);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void Key_RandomArgumentsNeverReturnAnotherCallsValue()
    {
        var f = Cachify.Wrap((string name, int n, Guid id) => $"{name}/{n}/{id}").Backend(_fx.Backend);
        var calls = Enumerable.Range(0, 2000)
            .Select(_ => (Name: _faker.PickRandom(null, string.Empty, _faker.Name.FirstName(), _faker.Lorem.Word() + ":" + _faker.Lorem.Word()), N: _faker.Random.Int(0, 5), Id: _faker.PickRandom(Guid.Empty, Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff"))))
            .ToList();

        foreach (var (name, n, id) in calls)
        {
            Assert.Equal($"{name}/{n}/{id}", f.Invoke(name!, n, id));
        }
    }

    [Fact]
    public void Named_SharesEntriesBetweenWrappersOfTheSameName()
    {
        var a = Cachify.Wrap((int x) => "a").Named("test.shared").Backend(_fx.Backend);
        var b = Cachify.Wrap((int x) => "b").Named("test.shared").Backend(_fx.Backend);

        Assert.Equal("a", a.Invoke(1));
        Assert.Equal("a", b.Invoke(1)); // one name, one function: the name is the identity
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Named_SameNameDifferentSignature_Throws()
    {
        Assert.Equal("a", Cachify.Wrap((int x) => "a").Named("test.signature").Backend(_fx.Backend).Invoke(1));
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap((string x) => "b").Named("test.signature").Backend(_fx.Backend).BindNow());
        Assert.Contains("test.signature", error.Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("a:b")]
    [InlineData("{tag}")]
    [InlineData("tab\there")]
    [InlineData("users.get~neverdie")]
    public void Named_InvalidName_ThrowsNamingTheArgument(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap((int x) => x).Named(name));
        Assert.Equal("name", error.ParamName);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Named_KeySettingsMarkedInTheIdentity_NoNameCanSpellAnotherWrappersIdentity()
    {
        // '~' marks key settings in the identity Redis keys use (name + shape): a name could otherwise spell a shaped one.
        var neverDie = Cachify.Wrap((int x) => x).Named("users.get").NeverDie();
        var ignored = Cachify.Wrap((int x, int trace) => x).Named("users.get").IgnoreArgs("trace");
        Assert.Equal("users.get~neverdie", neverDie.Config.Identity + neverDie.Config.KeyShape);
        Assert.Equal("users.get~ignore(trace)", ignored.Config.Identity + ignored.Config.KeyShape);

        Assert.Throws<ArgumentException>(() => Cachify.Wrap((int x) => x).Named("users.get~neverdie"));
        Assert.Throws<ArgumentException>(() => Cachify.Wrap((int x, int trace) => x).Named("users.get~ignore(trace)"));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Named_TooLongOrNull_Throws()
    {
        Assert.Throws<ArgumentException>(() => Cachify.Wrap((int x) => x).Named(new string('a', 257)));
        Assert.Throws<ArgumentNullException>(() => Cachify.Wrap((int x) => x).Named(null!));
    }

    public sealed record Person(int Id, string Name);

    private sealed class Repo(string name)
    {
        public string Get(int id) => $"{name}:{id}";
    }

    private static class Overloads
    {
        private static int _calls;

        public static int Calls => Volatile.Read(ref _calls);

        public static void Reset() => Volatile.Write(ref _calls, 0);

        public static string Kind(int x) => Count("int " + x.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public static string Kind(long x) => Count("long " + x.ToString(System.Globalization.CultureInfo.InvariantCulture));

        private static string Count(string result)
        {
            Interlocked.Increment(ref _calls);
            return result;
        }
    }

    private static class StatelessCounter
    {
        private static int _calls;

        public static int Calls => Volatile.Read(ref _calls);

        public static void Reset() => Volatile.Write(ref _calls, 0);

        public static int Next(int x) => Interlocked.Increment(ref _calls) + (x * 0);
    }
}
