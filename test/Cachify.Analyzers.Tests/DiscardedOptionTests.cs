namespace CachifyNet.Analyzers.Tests;

using Verify = Verifier<DiscardedOptionCodeFix>;

public class DiscardedOptionTests
{
    [Fact]
    public Task OptionAsStatement_OnLocal_ReportsAndAssignsBack() => Verify.FixAsync(
        """
        class C
        {
            int M()
            {
                var w = Cachify.Wrap((int id) => id * 2);
                w.{|CACHIFY001:Ttl|}(TimeSpan.FromSeconds(1));
                return w.Invoke(1);
            }
        }
        """,
        """
        class C
        {
            int M()
            {
                var w = Cachify.Wrap((int id) => id * 2);
                w = w.Ttl(TimeSpan.FromSeconds(1));
                return w.Invoke(1);
            }
        }
        """);

    [Fact]
    public Task ChainAsStatement_ReportsLastOptionAndAssignsWholeChain() => Verify.FixAsync(
        """
        class C
        {
            void M(CachedFunc<int, int> w)
            {
                // keep this comment
                w.Ttl(TimeSpan.FromSeconds(1)).{|CACHIFY001:NeverDie|}();
                w.Invoke(1);
            }
        }
        """,
        """
        class C
        {
            void M(CachedFunc<int, int> w)
            {
                // keep this comment
                w = w.Ttl(TimeSpan.FromSeconds(1)).NeverDie();
                w.Invoke(1);
            }
        }
        """);

    [Fact]
    public Task OptionAsStatement_OnField_AssignsBack() => Verify.FixAsync(
        """
        class C
        {
            private CachedFunc<int, string> _lookup = Cachify.Wrap((int id) => id.ToString());

            void Configure() => _lookup.{|CACHIFY001:Named|}("lookup");

            void Configure2() { this._lookup.{|CACHIFY001:IgnoreArgs|}("id"); }
        }
        """,
        """
        class C
        {
            private CachedFunc<int, string> _lookup = Cachify.Wrap((int id) => id.ToString());

            void Configure() => _lookup = _lookup.Named("lookup");

            void Configure2() { this._lookup = this._lookup.IgnoreArgs("id"); }
        }
        """);

    [Fact]
    public Task OptionAsStatement_OnReadonlyFieldOutsideConstructor_ReportsWithoutFix() => Verify.DiagnosticsAsync(
        """
        class C
        {
            private readonly AsyncCachedFunc<int, string> _lookup = Cachify.Wrap((int id) => Task.FromResult(id.ToString()));

            void Configure() { _lookup.{|CACHIFY001:Ttl|}(TimeSpan.FromMinutes(1)); }
        }
        """);

    [Fact]
    public Task OptionAsStatement_OnReadonlyFieldInConstructor_AssignsBack() => Verify.FixAsync(
        """
        class C
        {
            private readonly AsyncCachedFunc<int, string> _lookup = Cachify.Wrap((int id) => Task.FromResult(id.ToString()));

            C() { _lookup.{|CACHIFY001:Ttl|}(TimeSpan.FromMinutes(1)); }
        }
        """,
        """
        class C
        {
            private readonly AsyncCachedFunc<int, string> _lookup = Cachify.Wrap((int id) => Task.FromResult(id.ToString()));

            C() { _lookup = _lookup.Ttl(TimeSpan.FromMinutes(1)); }
        }
        """);

    [Fact]
    public Task WrapAsStatement_ReportsWithoutFix() => Verify.DiagnosticsAsync(
        """
        class C
        {
            void M(ICachify cachify)
            {
                Cachify.{|CACHIFY001:Wrap|}((int id) => id);
                cachify.{|CACHIFY001:Wrap|}((int id) => id);
                Cachify.Wrap((int id) => id).{|CACHIFY001:Ttl|}(TimeSpan.FromSeconds(1));
            }
        }
        """);

    [Fact]
    public Task ExtensionOption_AsStatement_Reports() => Verify.FixAsync(
        """
        static class Options
        {
            public static CachedFunc<int, int> Standard(this CachedFunc<int, int> w) => w.Ttl(TimeSpan.FromSeconds(5));
        }

        class C
        {
            void M(CachedFunc<int, int> w) { w.{|CACHIFY001:Standard|}(); }
        }
        """,
        """
        static class Options
        {
            public static CachedFunc<int, int> Standard(this CachedFunc<int, int> w) => w.Ttl(TimeSpan.FromSeconds(5));
        }

        class C
        {
            void M(CachedFunc<int, int> w) { w = w.Standard(); }
        }
        """);

    [Fact]
    public Task GenericExtensionOption_OnICachedFunction_AsStatement_Reports() => Verify.FixAsync(
        """
        static class Options
        {
            // The shape of a package's option, such as Cachify.Redis' UseRedis().
            public static TCached UseStore<TCached>(this TCached cached) where TCached : ICachedFunction<TCached>
                => cached.Backend(static () => Cachify.DefaultBackend);
        }

        class C
        {
            void M(AsyncCachedFunc<int, int> w)
            {
                w.{|CACHIFY001:UseStore|}();
                w.Ttl(TimeSpan.FromSeconds(1)).{|CACHIFY001:UseStore|}();
                w.{|CACHIFY001:Backend|}(() => Cachify.DefaultBackend);
            }
        }
        """,
        """
        static class Options
        {
            // The shape of a package's option, such as Cachify.Redis' UseRedis().
            public static TCached UseStore<TCached>(this TCached cached) where TCached : ICachedFunction<TCached>
                => cached.Backend(static () => Cachify.DefaultBackend);
        }

        class C
        {
            void M(AsyncCachedFunc<int, int> w)
            {
                w = w.UseStore();
                w = w.Ttl(TimeSpan.FromSeconds(1)).UseStore();
                w = w.Backend(() => Cachify.DefaultBackend);
            }
        }
        """);

    [Fact]
    public Task Message_NamesTheOptionAndTheAssignment() => Verify.FixAsync(
        """
        class C
        {
            void M(CachedFunc<int, int> square) { square.{|#0:NeverDie|}(); }
        }
        """,
        """
        class C
        {
            void M(CachedFunc<int, int> square) { square = square.NeverDie(); }
        }
        """,
        Verifier<DiscardedOptionCodeFix>.Diagnostic("CACHIFY001").WithLocation(0).WithArguments(
            "NeverDie",
            "Cachify options return a new wrapper and leave 'square' unchanged; assign the result: 'square = square.NeverDie(...)'"));

    [Fact]
    public Task UsedResults_AndCalls_AreNotReported() => Verify.DiagnosticsAsync(
        """
        class C
        {
            private static readonly CachedFunc<int, int> Square = Cachify.Wrap((int x) => x * x).Ttl(TimeSpan.FromSeconds(1));

            CachedFunc<int, int> M(CachedFunc<int, int> w)
            {
                w = w.NeverDie();
                var other = w.Ttl(TimeSpan.FromSeconds(2));
                Use(w.Named("n"));
                w.Invoke(1);
                w.Invalidate(1);
                w.Clear();
                Square.Invoke(2);
                _ = w.Backend(Cachify.DefaultBackend);
                return other.NoSelf();
            }

            static void Use(Func<int, int> f) => f(1);
        }
        """);

    [Fact]
    public Task OptionAsStatement_OnTrailingTokenWrapper_Reports() => Verify.FixAsync(
        """
        class C
        {
            Task<int> M(CancellationToken ct)
            {
                var w = Cachify.Wrap((int id, CancellationToken token) => Task.FromResult(id * 2));
                w.{|CACHIFY001:Ttl|}(TimeSpan.FromSeconds(1));
                return w.Invoke(1, ct);
            }
        }
        """,
        """
        class C
        {
            Task<int> M(CancellationToken ct)
            {
                var w = Cachify.Wrap((int id, CancellationToken token) => Task.FromResult(id * 2));
                w = w.Ttl(TimeSpan.FromSeconds(1));
                return w.Invoke(1, ct);
            }
        }
        """);
}
