//! The plan as a Kubernetes Pod (`v1`): the container's securityContext (capabilities, no
//! privilege escalation, read-only root, a Localhost seccomp profile), resources from
//! `[limits]`, and volumes for the grants. Written as YAML by [`yaml`], a small block-style
//! writer whose strings are JSON-quoted (valid YAML double-quoted scalars, so no value can be
//! read back as another type or break the document).

use super::Notes;
use crate::plan::mounts::Access;
use crate::plan::{MountStep, Plan};
use serde_json::{json, Map, Value};

pub const DEFAULT_IMAGE: &str = "debian:stable-slim";

/// A DNS-1123 label from a profile name: lower case, `[a-z0-9-]`, at most 63 characters.
pub fn dns_name(profile: &str) -> String {
    let mut s: String = profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(50);
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "jail".into()
    } else {
        format!("jail-{s}")
    }
}

/// Kubernetes' quantity for bytes (plain integers are bytes).
fn bytes(n: u64) -> Value {
    Value::String(n.to_string())
}

pub fn to_pod(plan: &Plan, name: &str, image: &str, seccomp: &str, notes: &mut Notes) -> Value {
    let mut volumes = vec![];
    let mut mounts = vec![];
    let mut n = 0;
    let mut vol = |v: Value, target: &std::path::Path, ro: bool| {
        n += 1;
        let vname = format!("v{n}");
        let mut v = v;
        v["name"] = json!(vname);
        volumes.push(v);
        let path = target.display().to_string();
        // A later mount on the same path covers the earlier one (as in the sandbox); the API
        // server refuses two volumeMounts with one mountPath, so the covered one is left out.
        if let Some(i) = mounts.iter().position(|m: &Value| m["mountPath"] == path) {
            let gone = mounts.remove(i);
            volumes.retain(|v: &Value| v["name"] != gone["name"]);
        }
        let mut m = json!({"name": vname, "mountPath": path, "readOnly": ro});
        if ro {
            // Kubernetes 1.30+: read-only under the mount too (the mounts below the host path).
            m["recursiveReadOnly"] = json!("Enabled");
        }
        mounts.push(m);
    };
    for step in &plan.mounts {
        match step {
            MountStep::Bind {
                source,
                target,
                access,
                ..
            } => vol(
                json!({"hostPath": {"path": source.display().to_string()}}),
                target,
                *access == Access::Ro,
            ),
            MountStep::Tmpfs { target, size, .. } => {
                let mut e = json!({"medium": "Memory"});
                if let Some(s) = size {
                    e["sizeLimit"] = bytes(*s);
                }
                vol(json!({ "emptyDir": e }), target, false)
            }
            MountStep::MachineId { target } => notes.lost(&format!(
                "{}: a random machine id in jail; the Pod shows the image's",
                target.display()
            )),
            MountStep::Noexec { target, .. } => notes.lost(&format!(
                "{}: noexec in jail; a Pod volume has no noexec option",
                target.display()
            )),
            MountStep::Hide { target, .. } => notes.lost(&format!(
                "{}: hidden by jail; a Pod has no masked paths (the image decides what is there)",
                target.display()
            )),
            MountStep::MaskPrivate { target } => notes.lost(&format!(
                "{}: jail masks what others may not read under it when the sandbox is built; the Pod shows all of it",
                target.display()
            )),
            MountStep::Placeholder { target, .. } => notes.lost(&format!(
                "{}: jail holds this missing policy path with a read-only placeholder so it cannot be created through a writable grant; the Pod does not",
                target.display()
            )),
            MountStep::RootImage { .. } => notes.lost(
                "the image root: the Pod runs the container image given with --image instead",
            ),
            _ => {}
        }
    }
    if plan
        .mounts
        .iter()
        .any(|s| matches!(s, MountStep::Bind { access, .. } if *access == Access::Ro))
    {
        notes.lost("read-only grants: recursiveReadOnly: Enabled needs Kubernetes 1.30 or later (feature RecursiveReadOnlyMounts, on by default since 1.31) and a runtime that supports it; an older cluster refuses or ignores it, and then the mounts under a read-only grant stay writable");
    }
    if plan
        .mounts
        .iter()
        .any(|s| matches!(s, MountStep::RootTmpfs))
    {
        notes.lost("the root: jail builds it from host folders; the Pod's root is the image (grants become hostPath volumes)");
    }
    let caps: Vec<String> = plan
        .capabilities
        .keep
        .iter()
        .map(|c| c.trim_start_matches("CAP_").to_string())
        .collect();
    let mut sc = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "privileged": false,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "Localhost", "localhostProfile": seccomp},
        "runAsUser": plan.ids.uid_inside,
        "runAsGroup": plan.ids.gid_inside,
    });
    if !caps.is_empty() {
        sc["capabilities"]["add"] = json!(caps);
    }
    if plan.ids.uid_inside != 0 {
        sc["runAsNonRoot"] = json!(true);
    }
    let l = &plan.limits;
    let mut limits = Map::new();
    if let Some(m) = l.memory {
        limits.insert("memory".into(), bytes(m));
    }
    if let Some(c) = l.cpus {
        limits.insert(
            "cpu".into(),
            json!(format!("{}m", (c * 1000.0).round() as u64)),
        );
    }
    if l.pids.is_some() {
        notes.lost("pids limit: Kubernetes sets it per node (kubelet podPidsLimit), not per Pod");
    }
    if l.swap.is_some() || l.cpu_weight.is_some() {
        notes.lost("swap and cpu_weight: a Pod has no field for them");
    }
    if plan.namespaces.user {
        notes.lost("user namespace: not requested (hostUsers: false needs a cluster with user namespaces enabled); the container's uid is the node's");
    }
    if !plan.rlimits.is_empty() {
        notes.lost("rlimits: a Pod cannot set them; the container runtime's defaults apply");
    }
    notes.lost("/proc masks, the always-on read-only paths and the hidden paths: the container runtime's defaults apply");
    let mut container = json!({
        "name": "main",
        "image": image,
        "command": plan.command,
        "workingDir": plan.process.cwd.display().to_string(),
        "env": plan.env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "securityContext": sc,
        "volumeMounts": mounts,
    });
    if !limits.is_empty() {
        container["resources"] = json!({ "limits": limits, "requests": limits });
    }
    let mut spec = json!({
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        "enableServiceLinks": false,
        "hostNetwork": !plan.namespaces.net,
        "hostPID": !plan.namespaces.pid,
        "hostIPC": !plan.namespaces.ipc,
        "containers": [container],
        "volumes": volumes,
    });
    if let (true, Some(h)) = (plan.namespaces.uts, &plan.process.hostname) {
        spec["hostname"] = json!(dns_name(h).trim_start_matches("jail-"));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "jail"},
            "annotations": {"jail.profile": plan.profile, "jail.not-enforced": notes.summary()},
        },
        "spec": spec,
    })
}

/// Block-style YAML of `v` (keys in the value's order, strings JSON-quoted).
pub fn yaml(v: &Value) -> String {
    fn scalar(v: &Value) -> String {
        match v {
            Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
            Value::Array(a) if a.is_empty() => "[]".into(),
            Value::Object(o) if o.is_empty() => "{}".into(),
            other => other.to_string(),
        }
    }
    fn complex(v: &Value) -> bool {
        matches!(v, Value::Array(a) if !a.is_empty())
            || matches!(v, Value::Object(o) if !o.is_empty())
    }
    fn go(v: &Value, ind: usize, out: &mut String) {
        let pad = " ".repeat(ind);
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, x) in o {
                    let plain = !k.is_empty()
                        && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
                    let k = if plain {
                        k.clone()
                    } else {
                        serde_json::to_string(k).unwrap_or_default()
                    };
                    if complex(x) {
                        out.push_str(&format!("{pad}{k}:\n"));
                        go(x, ind + 2, out);
                    } else {
                        out.push_str(&format!("{pad}{k}: {}\n", scalar(x)));
                    }
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for x in a {
                    if complex(x) {
                        // The first line of the item goes after the dash.
                        let mut inner = String::new();
                        go(x, ind + 2, &mut inner);
                        let rest = inner.get(ind + 2..).unwrap_or("");
                        out.push_str(&format!("{pad}- {rest}"));
                    } else {
                        out.push_str(&format!("{pad}- {}\n", scalar(x)));
                    }
                }
            }
            other => out.push_str(&format!("{pad}{}\n", scalar(other))),
        }
    }
    let mut out = String::from(
        "# Written by `jail export kubernetes`; see the annotation jail.not-enforced.\n",
    );
    go(v, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_nests_lists_of_maps() {
        let v = json!({"a": [{"b": 1, "c": ["x"]}, "y"], "d": {}, "e": "q\"\n"});
        assert_eq!(
            yaml(&v).lines().skip(1).collect::<Vec<_>>(),
            [
                "a:",
                "  - b: 1",
                "    c:",
                "      - \"x\"",
                "  - \"y\"",
                "d: {}",
                "e: \"q\\\"\\n\"",
            ]
        );
    }

    #[test]
    fn names_are_dns_labels() {
        assert_eq!(dns_name("Firefox_ESR"), "jail-firefox-esr");
        assert_eq!(dns_name("../"), "jail");
    }
}
