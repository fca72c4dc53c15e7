namespace CachifyNet.Tests;

/// <summary>Findings of the second review of the core changes that are reported, not fixed (skipped so the run stays green).</summary>
public class ReviewFindings2
{
    /// <summary>
    /// A Redis key's identity part is <c>config.Identity + config.KeyShape</c> (RedisKeyRules.Identity). Names may contain
    /// '~', so a plain wrapper named "users.get~neverdie" and a never-die wrapper named "users.get" get one identity and
    /// share Redis entries (values of another function, or never-die entries read by a plain wrapper). The same held
    /// before for "~ignore(...)" and "~key(...)"; "~neverdie" adds a third suffix. Fix options: refuse '~' in names
    /// (a breaking change for names that have one), or escape the name part.
    /// </summary>
    [Fact(Skip = "Review finding, not fixed: a name containing a key-shape suffix shares the Redis identity of a shaped wrapper")]
    public void Named_WithAShapeSuffixInTheName_NeverSharesTheRedisIdentityOfAShapedWrapper()
    {
        var plain = Cachify.Wrap((int x) => x).Named("users.get~neverdie");
        var neverDie = Cachify.Wrap((int x) => x).Named("users.get").NeverDie();
        var ignoring = Cachify.Wrap((int x, int trace) => x).Named("users.get~ignore(trace)");
        var ignored = Cachify.Wrap((int x, int trace) => x).Named("users.get").IgnoreArgs("trace");

        Assert.NotEqual(plain.Config.Identity + plain.Config.KeyShape, neverDie.Config.Identity + neverDie.Config.KeyShape);
        Assert.NotEqual(ignoring.Config.Identity + ignoring.Config.KeyShape, ignored.Config.Identity + ignored.Config.KeyShape);
    }
}
