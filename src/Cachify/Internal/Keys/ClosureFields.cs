using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;

namespace CachifyNet.Internal;

/// <summary>
/// Which captured variables a lambda reads: the fields of closure classes its IL loads. The compiler puts every variable
/// of a scope that some lambda captures into one closure object, shared by all the lambdas of that scope; a lambda is
/// keyed by the variables it uses, not by those its neighbours use (a <c>HttpContext</c> another lambda of the method
/// captured would otherwise key, or refuse, a lambda that never touches it).
/// </summary>
/// <remarks>
/// The walk is conservative: it returns null (key every field, as a closure with unknown reads) when the IL cannot be read
/// (native AOT), when the closure object escapes (passed on, stored, its address taken), or when the lambda calls into
/// another method of a closure class (a nested lambda or local function, whose reads are not followed). For async and
/// iterator lambdas, the state machine's <c>MoveNext</c> is read instead of the stub.
/// </remarks>
internal static class ClosureFields
{
    private static readonly OpCode[] OneByte = new OpCode[0x100];
    private static readonly OpCode[] TwoByte = new OpCode[0x100];

    static ClosureFields()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is OpCode code)
            {
                var value = (ushort)code.Value;
                if (value < 0x100)
                {
                    OneByte[value] = code;
                }
                else if ((value & 0xFF00) == 0xFE00)
                {
                    TwoByte[value & 0xFF] = code;
                }
            }
        }
    }

    /// <summary>The (declaring type, name) of every closure field <paramref name="lambda"/> reads; null when that cannot be told.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "A state machine's MoveNext is called by the runtime, so trimming keeps it; when it is missing the walk returns null (every field is keyed).")]
    public static HashSet<(Type Type, string Name)>? Used(MethodInfo lambda)
    {
        try
        {
            if (lambda.GetCustomAttribute<StateMachineAttribute>() is { } machine)
            {
                var moveNext = machine.StateMachineType.GetMethod("MoveNext", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
                return moveNext is null ? null : WalkTwice(moveNext, argumentIsClosure: false, lambda);
            }

            return WalkTwice(lambda, argumentIsClosure: true, lambda);
        }
        catch (Exception error) when (error is ArgumentException or BadImageFormatException or NotSupportedException or InvalidOperationException or MemberAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Walks twice: the second walk knows from the start every local the first saw holding the closure, so a load of such a
    /// local that comes before its store in IL order (reached by a backward branch) is checked too.
    /// </summary>
    private static HashSet<(Type, string)>? WalkTwice(MethodInfo method, bool argumentIsClosure, MethodInfo lambda)
    {
        var closureLocals = new HashSet<int>();
        return Walk(method, argumentIsClosure, lambda, closureLocals) is null ? null : Walk(method, argumentIsClosure, lambda, closureLocals);
    }

    /// <summary>Whether a captured value of <paramref name="type"/> could hold a way back to the closure (and read its other variables).</summary>
    private static bool MayReachClosure(Type type)
        => typeof(Delegate).IsAssignableFrom(type) || type == typeof(object) || type.IsInterface || type.IsAbstract
            || (!type.IsValueType && type != typeof(string) && KeyRules.KindOf(type) == KeyKind.Reference);

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The IL and the tokens it names are read from the same module as it runs, so they agree after trimming; without IL (native AOT) the walk returns null and every field is keyed.")]
    private static HashSet<(Type, string)>? Walk(MethodInfo method, bool argumentIsClosure, MethodInfo lambda, HashSet<int> closureLocals)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            return null;
        }

        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var used = new HashSet<(Type, string)>();
        var pendingClosure = false;
        for (var i = 0; i < il.Length;)
        {
            OpCode op;
            if (il[i] == 0xFE)
            {
                if (i + 1 >= il.Length)
                {
                    return null;
                }

                op = TwoByte[il[i + 1]];
                i += 2;
            }
            else
            {
                op = OneByte[il[i]];
                i += 1;
            }

            if (op.Size == 0)
            {
                return null; // an opcode this walk does not know
            }

            var isFieldLoad = op == OpCodes.Ldfld || op == OpCodes.Ldflda;
            var local = LocalIndex(op, il, i);
            if (pendingClosure)
            {
                // The closure object was just loaded: it may only be dereferenced, or kept in a local to be dereferenced later.
                if (local is { Store: true } stored)
                {
                    closureLocals.Add(stored.Index);
                }
                else if (!isFieldLoad)
                {
                    return null;
                }

                pendingClosure = false;
            }

            var producesClosure = (argumentIsClosure && op == OpCodes.Ldarg_0) || (local is { Store: false, Address: false } loaded && closureLocals.Contains(loaded.Index));
            if (local is { Address: true } address && closureLocals.Contains(address.Index))
            {
                return null;
            }

            switch (op.OperandType)
            {
                case OperandType.InlineField:
                {
                    var field = method.Module.ResolveField(BinaryPrimitives.ReadInt32LittleEndian(il.AsSpan(i)), typeArguments, methodArguments);
                    if (field?.DeclaringType is { } owner && ClosurePlan.IsClosureClass(owner))
                    {
                        if (!isFieldLoad)
                        {
                            return null; // a captured variable written, or a static of a closure class: keep to the safe side
                        }

                        if (!ClosurePlan.IsClosureClass(field.FieldType) && MayReachClosure(field.FieldType))
                        {
                            // A captured delegate (a neighbouring lambda, a LINQ query) or object may read the closure's
                            // other variables when called: every field is keyed, as before the walk.
                            return null;
                        }

                        used.Add((Definition(owner), field.Name));
                    }

                    if (isFieldLoad && field is not null && ClosurePlan.IsClosureClass(field.FieldType))
                    {
                        producesClosure = true;
                    }

                    i += 4;
                    break;
                }

                case OperandType.InlineMethod:
                {
                    var callee = method.Module.ResolveMethod(BinaryPrimitives.ReadInt32LittleEndian(il.AsSpan(i)), typeArguments, methodArguments);
                    if (callee?.DeclaringType is { } owner && (ClosurePlan.IsClosureClass(owner) || owner == lambda.DeclaringType) && callee != lambda)
                    {
                        return null; // a nested lambda or local function: its reads are not followed
                    }

                    if (callee is not null && callee.Name.Contains("g__", StringComparison.Ordinal))
                    {
                        return null; // a local function taking the closure by reference
                    }

                    i += 4;
                    break;
                }

                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + (4 * BinaryPrimitives.ReadInt32LittleEndian(il.AsSpan(i)));
                    break;
                default:
                    i += 4;
                    break;
            }

            pendingClosure = producesClosure;
        }

        return used;
    }

    /// <summary>The local a stloc/ldloc/ldloca instruction names (the operand starts at <paramref name="at"/>); null for other instructions.</summary>
    private static (int Index, bool Store, bool Address)? LocalIndex(OpCode op, byte[] il, int at)
    {
        if (op == OpCodes.Stloc_0 || op == OpCodes.Stloc_1 || op == OpCodes.Stloc_2 || op == OpCodes.Stloc_3)
        {
            return (op.Value - OpCodes.Stloc_0.Value, true, false);
        }

        if (op == OpCodes.Ldloc_0 || op == OpCodes.Ldloc_1 || op == OpCodes.Ldloc_2 || op == OpCodes.Ldloc_3)
        {
            return (op.Value - OpCodes.Ldloc_0.Value, false, false);
        }

        if (op == OpCodes.Stloc_S || op == OpCodes.Ldloc_S || op == OpCodes.Ldloca_S)
        {
            return (il[at], op == OpCodes.Stloc_S, op == OpCodes.Ldloca_S);
        }

        if (op == OpCodes.Stloc || op == OpCodes.Ldloc || op == OpCodes.Ldloca)
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(il.AsSpan(at)), op == OpCodes.Stloc, op == OpCodes.Ldloca);
        }

        return null;
    }

    /// <summary>The generic definition of a closure class (a closure of a generic method is generic itself).</summary>
    public static Type Definition(Type type) => type.IsConstructedGenericType ? type.GetGenericTypeDefinition() : type;
}
