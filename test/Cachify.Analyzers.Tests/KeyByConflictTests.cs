namespace CachifyNet.Analyzers.Tests;

using Verify = Verifier<UnknownIgnoredArgumentCodeFix>;

public class KeyByConflictTests
{
    [Fact]
    public Task KeyByAfterIgnoreArgs_Reports() => Verify.DiagnosticsAsync(
        """
        class C
        {
            CachedFunc<int, string, int> M() => Cachify.Wrap((int id, string culture) => id)
                .IgnoreArgs("culture")
                .Ttl(TimeSpan.FromSeconds(1))
                .{|CACHIFY002:KeyBy|}((id, culture) => id.ToString());
        }
        """);

    [Fact]
    public Task NoSelfAfterKeyBy_Reports() => Verify.DiagnosticsAsync(
        """
        class C
        {
            AsyncCachedFunc<int, int> M() => Cachify.Wrap((int id) => Task.FromResult(id))
                .KeyBy(id => id.ToString())
                .{|CACHIFY002:NoSelf|}();
        }
        """);

    [Fact]
    public Task ConflictThroughLocal_Reports() => Verify.DiagnosticsAsync(
        """
        class C
        {
            void M()
            {
                var keyed = Cachify.Wrap((int a, int b) => a + b).KeyBy((a, b) => a.ToString());
                var ignored = keyed.{|CACHIFY002:IgnoreArgs|}("b");
                ignored.Invoke(1, 2);
            }
        }
        """);

    [Fact]
    public Task ConflictThroughStaticField_Reports() => Verify.DiagnosticsAsync(
        """
        class C
        {
            private static readonly CachedFunc<int, int> Keyed = Cachify.Wrap((int a) => a).KeyBy(a => a.ToString());

            CachedFunc<int, int> M() => Keyed.{|CACHIFY002:NoSelf|}();
        }
        """);

    [Fact]
    public Task KeyByAlone_OrIgnoreArgsWithNoSelf_IsNotReported() => Verify.DiagnosticsAsync(
        """
        class C
        {
            void M()
            {
                var a = Cachify.Wrap((int x, int y) => x + y).KeyBy((x, y) => x.ToString()).Ttl(TimeSpan.FromSeconds(1)).NeverDie();
                var b = Cachify.Wrap((int x, int y) => x + y).IgnoreArgs("y").NoSelf().Named("b");
                a.Invoke(1, 2);
                b.Invoke(1, 2);
            }
        }
        """);
}
