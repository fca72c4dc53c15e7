namespace CachifyNet.Analyzers.Tests;

using Verify = Verifier<UnknownIgnoredArgumentCodeFix>;

public class UnknownIgnoredArgumentTests
{
    [Fact]
    public Task MisspelledLambdaParameter_ReportsAndFixesToClosestName() => Verify.FixAsync(
        """
        class C
        {
            CachedFunc<int, string, string> M() => Cachify.Wrap((int id, string culture) => culture + id)
                .IgnoreArgs({|CACHIFY003:"cultur"|});
        }
        """,
        """
        class C
        {
            CachedFunc<int, string, string> M() => Cachify.Wrap((int id, string culture) => culture + id)
                .IgnoreArgs("culture");
        }
        """);

    [Fact]
    public Task UnknownName_Message_ListsValidNames() => Verify.DiagnosticsAsync(
        """
        class C
        {
            CachedFunc<int, string, string> M() => Cachify.Wrap((int id, string culture) => culture + id)
                .IgnoreArgs("id", {|#0:"tenant"|});
        }
        """,
        Verifier<UnknownIgnoredArgumentCodeFix>.Diagnostic("CACHIFY003").WithLocation(0).WithArguments("tenant", "id, culture"));

    [Fact]
    public Task MethodGroup_IsResolved() => Verify.FixAsync(
        """
        class Repo
        {
            public string Find(int userId, CancellationToken token) => userId.ToString();
        }

        class C
        {
            void M(Repo repo)
            {
                var ok = Cachify.Wrap<int, CancellationToken, string>(repo.Find).IgnoreArgs("token");
                var bad = Cachify.Wrap<int, CancellationToken, string>(repo.Find).IgnoreArgs({|CACHIFY003:"userID"|});
            }
        }
        """,
        """
        class Repo
        {
            public string Find(int userId, CancellationToken token) => userId.ToString();
        }

        class C
        {
            void M(Repo repo)
            {
                var ok = Cachify.Wrap<int, CancellationToken, string>(repo.Find).IgnoreArgs("token");
                var bad = Cachify.Wrap<int, CancellationToken, string>(repo.Find).IgnoreArgs("userId");
            }
        }
        """);

    [Fact]
    public Task ThroughLocalAndArray_Reports() => Verify.DiagnosticsAsync(
        """
        class C
        {
            void M()
            {
                var w = Cachify.Wrap((int page, int size) => Task.FromResult(page * size));
                w = w.Ttl(TimeSpan.FromSeconds(1)).IgnoreArgs(new[] { "size", {|CACHIFY003:"count"|} });
            }
        }
        """);

    [Fact]
    public Task NameofAndUnknownFunctions_AreNotReported() => Verify.DiagnosticsAsync(
        """
        class C
        {
            static int Twice(int value) => value * 2;

            void M(Func<int, int> anyFunction, string runtimeName)
            {
                var a = Cachify.Wrap<int, int>(Twice).IgnoreArgs("value");
                var b = Cachify.Wrap(anyFunction).IgnoreArgs("whatever");
                var c = Cachify.Wrap((int x) => x).IgnoreArgs(runtimeName);
            }
        }
        """);

    [Fact]
    public Task TrailingTokenWrapper_IsChecked() => Verify.FixAsync(
        """
        class Repo
        {
            public Task<string> FindAsync(int userId, CancellationToken token) => Task.FromResult(userId.ToString());
        }

        class C
        {
            void M(Repo repo)
            {
                CancellableAsyncCachedFunc<int, string> ok = Cachify.Wrap<int, string>(repo.FindAsync).IgnoreArgs("token");
                var bad = Cachify.Wrap((int userId, CancellationToken ct) => repo.FindAsync(userId, ct)).IgnoreArgs({|CACHIFY003:"userID"|});
            }
        }
        """,
        """
        class Repo
        {
            public Task<string> FindAsync(int userId, CancellationToken token) => Task.FromResult(userId.ToString());
        }

        class C
        {
            void M(Repo repo)
            {
                CancellableAsyncCachedFunc<int, string> ok = Cachify.Wrap<int, string>(repo.FindAsync).IgnoreArgs("token");
                var bad = Cachify.Wrap((int userId, CancellationToken ct) => repo.FindAsync(userId, ct)).IgnoreArgs("userId");
            }
        }
        """);
}
