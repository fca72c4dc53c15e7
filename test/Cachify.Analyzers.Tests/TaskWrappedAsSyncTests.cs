namespace CachifyNet.Analyzers.Tests;

using Verify = Verifier<TaskWrappedAsSyncCodeFix>;

public class TaskWrappedAsSyncTests
{
    [Fact]
    public Task ValueTaskLambda_ReportsAndAppendsAsTask() => Verify.FixAsync(
        """
        class Repo { public ValueTask<string> GetAsync(int id) => new(id.ToString()); }

        class C
        {
            void M(Repo repo)
            {
                var w = Cachify.{|CACHIFY004:Wrap|}((int id) => repo.GetAsync(id));
            }
        }
        """,
        """
        class Repo { public ValueTask<string> GetAsync(int id) => new(id.ToString()); }

        class C
        {
            void M(Repo repo)
            {
                var w = Cachify.Wrap((int id) => repo.GetAsync(id).AsTask());
            }
        }
        """);

    [Fact]
    public Task AsyncLambdaWithValueTaskReturnType_BecomesTask() => Verify.FixAsync(
        """
        class C
        {
            void M()
            {
                var w = Cachify.{|CACHIFY004:Wrap|}(async ValueTask<int> (int id) => { await Task.Yield(); return id; });
            }
        }
        """,
        """
        class C
        {
            void M()
            {
                var w = Cachify.Wrap(async Task<int> (int id) => { await Task.Yield(); return id; });
            }
        }
        """);

    [Fact]
    public Task ExplicitTaskTypeArgument_BecomesResultType() => Verify.FixAsync(
        """
        class Repo { public Task<string> GetAsync(int id) => Task.FromResult(id.ToString()); }

        class C
        {
            void M(Repo repo, ICachify cachify)
            {
                var a = Cachify.{|CACHIFY004:Wrap|}<int, Task<string>>(repo.GetAsync);
                var b = cachify.{|CACHIFY004:Wrap|}<int, ValueTask<string>>(id => new ValueTask<string>(id.ToString()));
            }
        }
        """,
        """
        class Repo { public Task<string> GetAsync(int id) => Task.FromResult(id.ToString()); }

        class C
        {
            void M(Repo repo, ICachify cachify)
            {
                var a = Cachify.Wrap<int, string>(repo.GetAsync);
                var b = cachify.Wrap<int, string>(id => new ValueTask<string>(id.ToString()).AsTask());
            }
        }
        """);

    [Fact]
    public Task NoResultOrValueTaskMethodGroup_ReportsWithoutFix() => Verify.DiagnosticsAsync(
        """
        class Repo { public ValueTask<string> GetAsync(int id) => new(id.ToString()); }

        class C
        {
            void M(Repo repo)
            {
                var a = Cachify.{|#0:Wrap|}((int id) => Task.CompletedTask);
                var b = Cachify.{|CACHIFY004:Wrap|}(() => ValueTask.CompletedTask);
                var c = Cachify.{|CACHIFY004:Wrap|}<int, ValueTask<string>>(repo.GetAsync);
            }
        }
        """,
        Verifier<TaskWrappedAsSyncCodeFix>.Diagnostic("CACHIFY004").WithLocation(0).WithArguments(
            "Task",
            "a function without a result has nothing to cache: return Task<T> with the value to cache"));

    [Fact]
    public Task TaskOfTLambdas_AndPlainResults_AreNotReported() => Verify.DiagnosticsAsync(
        """
        class C
        {
            void M()
            {
                var a = Cachify.Wrap((int id) => Task.FromResult(id));
                var b = Cachify.Wrap(async (int id) => { await Task.Yield(); return id; });
                var c = Cachify.Wrap((int id) => id.ToString());
                var d = Cachify.Wrap(() => Task.FromResult(1));
            }
        }
        """);
}
