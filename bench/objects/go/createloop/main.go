// createloop creates N ConfigMaps in one namespace as fast as the API server accepts them:
// client-go, W workers sharing one client (one HTTP/2 connection pool), client-side rate
// limits raised out of the way. It is the objects benchmark's reference for what the
// server accepts, measured in the same run as mlark's restore. It prints one JSON line.
//
// With --objects FILE it creates the objects of FILE instead (JSON, one object a line, any
// kinds, through the dynamic client): their namespaces first, then the objects on W workers.
// That is the server's limit for the very objects mlark restores, whose cost to the server
// differs from small ConfigMaps (Secrets, custom resources validated against their schema).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

type result struct {
	Namespace string  `json:"namespace"`
	Objects   int64   `json:"objects"`
	Errors    int64   `json:"errors"`
	Workers   int     `json:"workers"`
	QPS       float32 `json:"qps"`
	Burst     int     `json:"burst"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"objects_per_second"`
	FirstErr  string  `json:"first_error,omitempty"`
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	namespace := flag.String("namespace", "", "fresh namespace to create (must not exist)")
	count := flag.Int("count", 10000, "ConfigMaps to create")
	workers := flag.Int("workers", 32, "concurrent workers")
	qps := flag.Float64("qps", 5000, "client-side QPS limit")
	burst := flag.Int("burst", 5000, "client-side burst")
	payload := flag.Int("payload-bytes", 700, "bytes of data per ConfigMap")
	objectsFile := flag.String("objects", "", "create the objects of this JSON-lines file instead of ConfigMaps")
	flag.Parse()
	if *kubeconfig == "" || (*namespace == "" && *objectsFile == "") {
		fmt.Fprintln(os.Stderr, "createloop: --kubeconfig and --namespace (or --objects) are required")
		os.Exit(2)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	config.QPS = float32(*qps)
	config.Burst = *burst
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	if *objectsFile != "" {
		createObjects(ctx, config, client, *objectsFile, *workers)
		return
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: *namespace}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		fail(fmt.Errorf("creating namespace %s: %w", *namespace, err))
	}
	data := strings.Repeat("x", *payload)

	started := time.Now()
	created, errors, firstMessage := createAll(*workers, *count, func(index int) error {
		configMap := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", index), Namespace: *namespace},
			Data:       map[string]string{"payload": data},
		}
		_, err := client.CoreV1().ConfigMaps(*namespace).Create(ctx, configMap, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	seconds := time.Since(started).Seconds()
	report(result{
		Namespace: *namespace, Objects: created, Errors: errors, Workers: *workers,
		QPS: config.QPS, Burst: config.Burst, Seconds: seconds,
		PerSecond: float64(created) / seconds, FirstErr: firstMessage,
	})
}

// createAll runs create(0..count-1) on workers goroutines: how many succeeded, failed, and the first error.
func createAll(workers, count int, create func(index int) error) (int64, int64, string) {
	var next, created, errors atomic.Int64
	var firstErr sync.Once
	var firstMessage string
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for index := next.Add(1) - 1; index < int64(count); index = next.Add(1) - 1 {
				if err := create(int(index)); err != nil {
					errors.Add(1)
					firstErr.Do(func() { firstMessage = err.Error() })
					continue
				}
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	return created.Load(), errors.Load(), firstMessage
}

// report prints the result line; exit status 1 when any create failed.
func report(out result) {
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
	if out.Errors > 0 {
		os.Exit(1)
	}
}

func createObjects(ctx context.Context, config *rest.Config, client *kubernetes.Clientset, path string, workers int) {
	objects := readObjects(path)
	dynamicClient, err := dynamic.NewForConfig(config)
	if err != nil {
		fail(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	resources := map[schema.GroupVersionKind]schema.GroupVersionResource{}
	namespaces := map[string]bool{}
	for _, object := range objects {
		gvk := object.GroupVersionKind()
		if _, known := resources[gvk]; !known {
			mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				fail(fmt.Errorf("%s: %w", gvk, err))
			}
			resources[gvk] = mapping.Resource
		}
		namespaces[object.GetNamespace()] = true
	}
	started := time.Now()
	for name := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			fail(fmt.Errorf("creating namespace %s: %w", name, err))
		}
	}
	created, errors, firstMessage := createAll(workers, len(objects), func(index int) error {
		object := objects[index]
		resource := dynamicClient.Resource(resources[object.GroupVersionKind()]).Namespace(object.GetNamespace())
		_, err := resource.Create(ctx, object, metav1.CreateOptions{})
		return err
	})
	seconds := time.Since(started).Seconds()
	total := created + int64(len(namespaces))
	report(result{Namespace: fmt.Sprintf("%d namespaces", len(namespaces)), Objects: total, Errors: errors,
		Workers: workers, QPS: config.QPS, Burst: config.Burst, Seconds: seconds,
		PerSecond: float64(total) / seconds, FirstErr: firstMessage})
}

func readObjects(path string) []*unstructured.Unstructured {
	file, err := os.Open(path)
	if err != nil {
		fail(err)
	}
	defer file.Close()
	var objects []*unstructured.Unstructured
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		object := &unstructured.Unstructured{}
		if err := object.UnmarshalJSON(scanner.Bytes()); err != nil {
			fail(fmt.Errorf("%s: %w", path, err))
		}
		objects = append(objects, object)
	}
	if err := scanner.Err(); err != nil {
		fail(err)
	}
	return objects
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "createloop:", err)
	os.Exit(1)
}
